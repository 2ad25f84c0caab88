// guest_app.c: Multi-sensor data aggregation with statistics
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

extern int hal_adc_read(int channel);
extern int hal_tx_send(const uint8_t* data, int len);
extern void ch_send(int ch_id, int value);

#define NUM_SENSORS 4
#define SAMPLES_PER_SENSOR 32
#define STAT_WINDOW 256

typedef struct {
    int32_t min, max, sum;
    uint32_t count;
} stats_t;

typedef struct {
    int16_t samples[NUM_SENSORS][SAMPLES_PER_SENSOR];
    int idx;
    stats_t stats[NUM_SENSORS];
} aggregator_t;

aggregator_t agg = {0};

void update_stats(int sensor_id, int16_t sample) {
    stats_t* s = &agg.stats[sensor_id];

    if (s->count == 0) {
        s->min = s->max = sample;
    } else {
        if (sample < s->min) s->min = sample;
        if (sample > s->max) s->max = sample;
    }

    s->sum += sample;
    s->count++;

    // Reset every STAT_WINDOW samples
    if (s->count >= STAT_WINDOW) {
        s->count = 0;
        s->sum = 0;
    }
}

void aggregator_task() {
    memset(&agg, 0, sizeof(agg));

    while (1) {
        for (int i = 0; i < NUM_SENSORS; i++) {
            int value = hal_adc_read(i);
            int16_t sample = (int16_t)value;

            agg.samples[i][agg.idx] = sample;
            update_stats(i, sample);
        }

        agg.idx++;
        if (agg.idx >= SAMPLES_PER_SENSOR) {
            // Transmit aggregated data
            hal_tx_send((uint8_t*)agg.samples,
                       sizeof(agg.samples));
            agg.idx = 0;
        }

        ch_send(0, 1);
    }
}

int main() {
    aggregator_task();
    return 0;
}
