// guest_app.c: Time-series sensor aggregation with histogram statistics
// 用途: Environmental monitoring (温度・湿度・CO2) + Machine learning inference
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <math.h>

// Fireball HAL interface
extern int hal_adc_read(int channel);
extern int hal_tx_send(const uint8_t* data, int len);
extern void ch_send(int ch_id, int value);
extern int hal_get_time_ms(void);

#define NUM_SENSORS 3               // Temperature, Humidity, CO2
#define SAMPLES_PER_WINDOW 128      // Sliding window buffer
#define HISTOGRAM_BINS 32           // Frequency distribution
#define HISTORY_DEPTH 256           // Long-term trend storage
#define MODEL_WEIGHTS 64            // Simple ML coefficients

typedef struct {
    int16_t value;
    uint32_t timestamp;
} sample_t;

typedef struct {
    // Sliding window for real-time statistics
    sample_t window[SAMPLES_PER_WINDOW];
    uint16_t window_idx;

    // Histogram for distribution analysis
    uint16_t histogram[HISTOGRAM_BINS];

    // Running statistics
    int32_t sum;
    int32_t min;
    int32_t max;
    uint32_t count;
} sensor_aggregator_t;

typedef struct {
    // ML model coefficients (simple linear model)
    float weights[MODEL_WEIGHTS];
    float bias;

    // Model input cache
    float features[NUM_SENSORS * 3];  // min, avg, max per sensor
} ml_model_t;

// Global state (managed within 48KB guest heap)
sensor_aggregator_t aggregators[NUM_SENSORS] = {0};
ml_model_t ml_model = {0};
uint32_t iteration_count = 0;

// Simple histogram update
void update_histogram(sensor_aggregator_t* agg, int16_t value) {
    // Map value to histogram bin (assuming 16-bit signed range)
    // Bin 0 = -32768, Bin 31 = +32767
    uint16_t bin = ((uint32_t)(value + 32768) * HISTOGRAM_BINS) / 65536;
    if (bin >= HISTOGRAM_BINS) bin = HISTOGRAM_BINS - 1;
    agg->histogram[bin]++;
}

// Update real-time statistics
void update_statistics(sensor_aggregator_t* agg, int16_t sample) {
    // Add to sliding window
    agg->window[agg->window_idx].value = sample;
    agg->window[agg->window_idx].timestamp = hal_get_time_ms();
    agg->window_idx = (agg->window_idx + 1) % SAMPLES_PER_WINDOW;

    // Update min/max/sum
    if (agg->count == 0) {
        agg->min = agg->max = sample;
    } else {
        if (sample < agg->min) agg->min = sample;
        if (sample > agg->max) agg->max = sample;
    }
    agg->sum += sample;
    agg->count++;

    // Update histogram
    update_histogram(agg, sample);
}

// Simple ML inference: compute weighted sum
float ml_inference(void) {
    float result = ml_model.bias;

    // Compute features: min, avg, max for each sensor
    for (int i = 0; i < NUM_SENSORS; i++) {
        sensor_aggregator_t* agg = &aggregators[i];

        float avg = (agg->count > 0) ? (float)agg->sum / agg->count : 0;
        ml_model.features[i * 3 + 0] = (float)agg->min;
        ml_model.features[i * 3 + 1] = avg;
        ml_model.features[i * 3 + 2] = (float)agg->max;
    }

    // Dot product with weights
    for (int i = 0; i < NUM_SENSORS * 3; i++) {
        result += ml_model.weights[i] * ml_model.features[i];
    }

    return result;
}

// Data aggregation and processing main task
void aggregation_task() {
    // Initialize ML model with random weights (demonstration)
    for (int i = 0; i < MODEL_WEIGHTS; i++) {
        ml_model.weights[i] = 0.1f;
    }
    ml_model.bias = 0.5f;

    while (1) {
        // Read all sensors
        for (int i = 0; i < NUM_SENSORS; i++) {
            int raw = hal_adc_read(i);
            int16_t sample = (int16_t)raw;
            update_statistics(&aggregators[i], sample);
        }

        iteration_count++;

        // Every 256 samples (~once per minute at 4Hz), perform ML inference
        if ((iteration_count % 256) == 0) {
            float inference_result = ml_inference();

            // Transmit aggregated statistics + inference result
            uint8_t packet[128];
            uint16_t offset = 0;

            // Pack sensor statistics
            for (int i = 0; i < NUM_SENSORS; i++) {
                sensor_aggregator_t* agg = &aggregators[i];

                // Min (2B)
                *(int16_t*)(packet + offset) = agg->min;
                offset += 2;

                // Max (2B)
                *(int16_t*)(packet + offset) = agg->max;
                offset += 2;

                // Avg (2B)
                int16_t avg = (agg->count > 0) ? agg->sum / agg->count : 0;
                *(int16_t*)(packet + offset) = avg;
                offset += 2;
            }

            // ML inference result (4B)
            *(float*)(packet + offset) = inference_result;
            offset += 4;

            // Histogram (peak bin only, 1B)
            uint16_t peak_bin = 0;
            uint16_t peak_count = 0;
            for (int i = 0; i < HISTOGRAM_BINS; i++) {
                if (aggregators[0].histogram[i] > peak_count) {
                    peak_count = aggregators[0].histogram[i];
                    peak_bin = i;
                }
            }
            packet[offset++] = (uint8_t)peak_bin;

            // Iteration counter (4B)
            *(uint32_t*)(packet + offset) = iteration_count;
            offset += 4;

            hal_tx_send(packet, offset);

            // Reset statistics for next window
            for (int i = 0; i < NUM_SENSORS; i++) {
                aggregators[i].sum = 0;
                aggregators[i].count = 0;
            }
        }

        ch_send(0, 1);  // Yield to other coroutines
    }
}

int main() {
    memset(aggregators, 0, sizeof(aggregators));
    memset(&ml_model, 0, sizeof(ml_model));
    iteration_count = 0;

    aggregation_task();
    return 0;
}
