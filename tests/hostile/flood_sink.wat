;; 3 000 messages, 0..2999, as fast as it can on port 0, a sink the host drains:
;; the channel applies back-pressure and every message arrives, in order.
(module
  (import "env" "ch_send" (func $send (param i32 i32)))
  (func (export "run") (local $i i32)
    (loop
      (call $send (i32.const 0) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get $i) (i32.const 3000))))))
