/* blink: the user LED blinks, fast while the user button is held.
 *
 * The board's "hal/gpio/0": pin 0 the LED (output), pin 1 the button (input,
 * low while pressed, as on a Nucleo). Every toggle is also sent on channel
 * port 0 as (level | pressed << 1), so the host can count them.
 *
 *   fireball run examples/blink/blink.wasm --ram 32K --for 2s
 */
#include "fireball_hal.h"

#define GPIO "hal/gpio/0"
#define LED 0
#define BUTTON 1
#define SLOW_MS 500
#define FAST_MS 100

int main(void) {
    int level = 0;
    int last = hal_get_time_ms();
    while (1) {
        int pressed = fb_gpio_read(GPIO, BUTTON) == 0;
        if (fb_ms_since(last) >= (pressed ? FAST_MS : SLOW_MS)) {
            level = !level;
            if (fb_gpio_write(GPIO, LED, level) < 0) fb_log_warn(1, level);
            ch_send(0, level | (pressed << 1));
            last = hal_get_time_ms();
        }
        co_yield();
    }
}
