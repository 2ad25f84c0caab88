;; 20 000 logger events (INFO, event 7, argument i) as fast as it can, then
;; returns. The 256-event ring overwrites the oldest and counts each one dropped.
(module
  (import "env" "log_event" (func $log (param i32 i32 i32) (result i32)))
  (func (export "run") (local $i i32)
    (loop
      (drop (call $log (i32.const 3) (i32.const 7) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get $i) (i32.const 20000))))))
