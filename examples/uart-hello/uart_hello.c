/* uart-hello: a service that writes a line to the board's second UART
 * ("hal/uart/1") with the offloader's sys_write, three times, 100 ms apart.
 * The board's UART backend moves at most 16 bytes into the transmitter per
 * scheduler step, so each line keeps this service parked for several steps
 * while the app goes on running; sys_write returns when the last byte is out.
 * Each write's result (the byte count, or a negative error) goes to the logger.
 *
 *   fireball run examples/sensor/sensor.wasm --service examples/uart-hello/uart_hello.wasm --for 500ms
 *     (the host's hal/uart/1: 115 200 baud, the lines on the console)
 *   boards/stm32f401, feature qemu-f405: runs next to the sensor app on QEMU,
 *     USART2 (QEMU's serial1) written to target/netduinoplus2-usart2.txt
 */
#include "fireball.h"

#define UART "hal/uart/1"
#define LINES 3
#define PERIOD_MS 100
#define EVENT_WRITTEN 1

static const char line[] = "fireball: a service's sys_write on hal/uart/1, parked until the last byte is out\n";

void uart_hello(void) {
    int last = hal_get_time_ms() - PERIOD_MS;
    for (int k = 0; k < LINES;) {
        if (fb_ms_since(last) >= PERIOD_MS) {
            last = hal_get_time_ms();
            fb_log_info(EVENT_WRITTEN, sys_write(UART, line, (int)sizeof line - 1));
            k++;
        }
        co_yield();
    }
}
