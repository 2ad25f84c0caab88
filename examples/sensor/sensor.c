// guest_app.c: ADC sensor buffering + wireless transmission
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Fireball HAL interface (imported via WASM)
extern int hal_adc_read(int channel);
extern int hal_tx_send(const uint8_t* data, int len);
extern void ch_send(int ch_id, int value);

#define BUFFER_SIZE 64
#define SENSOR_CHANNEL 0

typedef struct {
    int16_t samples[BUFFER_SIZE];
    int count;
} sensor_buffer_t;

sensor_buffer_t sensor_buf = {0};

void sensor_task() {
    while (1) {
        // Read ADC
        int value = hal_adc_read(SENSOR_CHANNEL);

        // Buffer sample
        sensor_buf.samples[sensor_buf.count++] = (int16_t)value;

        // Send when buffer full
        if (sensor_buf.count >= BUFFER_SIZE) {
            // Transmit via wireless
            hal_tx_send((uint8_t*)sensor_buf.samples,
                       BUFFER_SIZE * sizeof(int16_t));
            sensor_buf.count = 0;
        }

        // Yield to other coroutines
        ch_send(0, 1);
    }
}

int main() {
    memset(&sensor_buf, 0, sizeof(sensor_buf));
    sensor_task();
    return 0;
}
