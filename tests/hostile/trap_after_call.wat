;; Traps on the very instruction after a host call returns, one way per export:
;; - `denied`: hal_tx_send is not granted and returns -11; the result is used as
;;   an address: out of bounds;
;; - `yield`: co_yield ends the slice; the first instruction of the next slice traps;
;; - `parked`: ch_send on a full channel parks the module; when the receiver makes
;;   room the kernel completes the call, and the next instruction divides by zero;
;; - `received`: ch_recv stores its message in memory, then the value is an
;;   indirect call's index past the table.
(module
  (import "env" "hal_tx_send" (func $tx (param i32 i32) (result i32)))
  (import "env" "co_yield" (func $yield))
  (import "env" "ch_send" (func $send (param i32 i32)))
  (import "env" "ch_recv" (func $recv (param i32 i32)))
  (memory 1)
  (table 1 funcref)
  (type $v (func))
  (func (export "denied") (drop (i32.load (call $tx (i32.const 0) (i32.const 4)))))
  (func (export "yield") (call $yield) (unreachable))
  (func (export "parked") (local $i i32)
    ;; port 1's channel holds 16: the 17th send waits for the sensor-paced drain
    (loop
      (call $send (i32.const 1) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get $i) (i32.const 17))))
    (drop (i32.div_u (i32.const 1) (i32.const 0))))
  (func (export "received")
    (call $send (i32.const 1) (i32.const 1000))
    (call $recv (i32.const 2) (i32.const 0))
    (call_indirect (type $v) (i32.load (i32.const 0)))))
