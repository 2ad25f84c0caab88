// C++17 with libc++ as a C++ user writes it: iostream (manipulators, a string
// stream), classes with virtual functions owned by unique_ptr, a map of vectors,
// <algorithm> and <numeric>; built without exceptions (wasm32-wasi has none).
#include <iostream>
#include <sstream>
#include <string>
#include <vector>
#include <map>
#include <algorithm>
#include <memory>
#include <numeric>
#include <iomanip>

struct Sensor {
  virtual ~Sensor() = default;
  virtual std::string name() const = 0;
  virtual double read(int t) const = 0;
};
struct Ramp : Sensor {
  std::string name() const override { return "ramp"; }
  double read(int t) const override { return 0.5 * t; }
};
struct Square : Sensor {
  std::string name() const override { return "square"; }
  double read(int t) const override { return (t / 4) % 2 ? 10.0 : -10.0; }
};

int main(int argc, char** argv) {
  std::cout << "Hello from C++ on Fireball!" << std::endl;
  std::vector<std::unique_ptr<Sensor>> sensors;
  sensors.push_back(std::make_unique<Ramp>());
  sensors.push_back(std::make_unique<Square>());
  std::map<std::string, std::vector<double>> samples;
  for (int t = 0; t < 16; t++)
    for (auto& s : sensors) samples[s->name()].push_back(s->read(t));
  for (auto& [name, v] : samples) {
    double mean = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    std::cout << std::setw(8) << name << ": mean " << std::fixed << std::setprecision(3) << mean
              << ", min " << *lo << ", max " << *hi << "\n";
  }
  std::ostringstream os;
  for (int i = 1; i < argc; i++) os << (i > 1 ? "," : "") << argv[i];
  std::cout << "arguments: [" << os.str() << "]" << std::endl;
  return 0;
}
