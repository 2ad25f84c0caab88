// service_plugin_ml_preprocessing.c: Advanced sensor preprocessing
#include <stdlib.h>
#include <stdint.h>

extern int hal_adc_read(int channel);
extern void ch_send(int ch_id, int value);
extern void ch_recv(int ch_id, int* value);

#define PREPROCESS_BUFFER_SIZE 512
#define NUM_FILTERS 3

typedef struct {
    float alpha;  // IIR coefficient
    float prev;
} iir_filter_t;

iir_filter_t filters[NUM_FILTERS] = {0};
uint16_t preprocess_buf[PREPROCESS_BUFFER_SIZE] = {0};
uint16_t buf_idx = 0;

void preprocess_service() {
    // Initialize IIR filters with different cutoff frequencies
    filters[0].alpha = 0.1f;   // Low-pass 1
    filters[1].alpha = 0.3f;   // Low-pass 2
    filters[2].alpha = 0.5f;   // Low-pass 3

    while (1) {
        // Read raw sensor
        int raw = hal_adc_read(0);
        int16_t sample = (int16_t)raw;

        // Apply cascading IIR filters for noise reduction
        float filtered = (float)sample;
        for (int i = 0; i < NUM_FILTERS; i++) {
            filters[i].prev = filters[i].alpha * filtered
                            + (1.0f - filters[i].alpha) * filters[i].prev;
            filtered = filters[i].prev;
        }

        // Store preprocessed value
        preprocess_buf[buf_idx++] = (uint16_t)filtered;
        if (buf_idx >= PREPROCESS_BUFFER_SIZE) {
            buf_idx = 0;
        }

        // Notify guest app of new preprocessed sample
        ch_send(2, (int)filtered);
    }
}
