/* checksum: offloads a CRC-32 to the board's accelerator ("hal/crc/0") every
 * 100 ms over a block of ADC samples. sys_write parks this module until the
 * device is done (the others run meanwhile); sys_read then fetches the CRC.
 * Each CRC goes out on channel port 0, the time the write took to the logger.
 *
 *   fireball run examples/checksum/checksum.wasm --ram 32K --for 1s
 */
#include "fireball.h"

#define CRC "hal/crc/0"
#define SAMPLES 32
#define PERIOD_MS 100
#define EVENT_CRC_MS 1
#define EVENT_FAILED 2

static int16_t block[SAMPLES];

int main(void) {
    int last = hal_get_time_ms() - PERIOD_MS;
    while (1) {
        if (fb_ms_since(last) >= PERIOD_MS) {
            last = hal_get_time_ms();
            for (int i = 0; i < SAMPLES; i++) block[i] = (int16_t)hal_adc_read(0);
            int n = sys_write(CRC, block, (int)sizeof block);
            uint32_t crc = 0;
            if (n == (int)sizeof block && sys_read(CRC, &crc, 4) == 4) {
                ch_send(0, (int)crc);
                fb_log_info(EVENT_CRC_MS, fb_ms_since(last));
            } else {
                fb_log_warn(EVENT_FAILED, n);
            }
        }
        co_yield();
    }
}
