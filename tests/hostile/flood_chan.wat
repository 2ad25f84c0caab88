;; Sends forever on port 1, whose channel nobody receives from (port 2 shares it
;; and never reads): the channel fills (16 messages) and the sender blocks.
(module
  (import "env" "ch_send" (func $send (param i32 i32)))
  (func (export "run") (local $i i32)
    (loop
      (call $send (i32.const 1) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br 0))))
