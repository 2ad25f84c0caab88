/* i2c-sensor: reads a TMP102-style temperature sensor at I2C address 0x48
 * on "hal/i2c/0" every 100 ms: register 0 holds the temperature, 12 bits in
 * 1/16 degree C, left-aligned in two bytes. Each reading goes out on channel
 * port 0 (in 1/16 degree C) and to the logger; a failed read is logged with
 * its error code and retried on the next period.
 *
 *   fireball run examples/i2c-sensor/i2c_sensor.wasm --ram 32K --for 1s
 */
#include "fireball_hal.h"

#define I2C "hal/i2c/0"
#define SENSOR 0x48
#define REG_TEMPERATURE 0x00
#define PERIOD_MS 100
#define EVENT_READING 1
#define EVENT_FAILED 2

int main(void) {
    int last = hal_get_time_ms() - PERIOD_MS;
    while (1) {
        if (fb_ms_since(last) >= PERIOD_MS) {
            uint8_t reg = REG_TEMPERATURE, t[2];
            int n = fb_i2c_write_read(I2C, SENSOR, &reg, 1, t, 2);
            if (n == 2) {
                int sixteenths = (int16_t)((t[0] << 8) | t[1]) >> 4;
                ch_send(0, sixteenths);
                fb_log_info(EVENT_READING, sixteenths);
            } else {
                fb_log_warn(EVENT_FAILED, n);
            }
            last = hal_get_time_ms();
        }
        co_yield();
    }
}
