;; Grows its memory one 256-byte step at a time, for ever, ignoring the -1 it
;; gets once its limit or its partition says no; reports on port 0 how many
;; steps succeeded each time one fails, and yields.
(module
  (import "env" "ch_send" (func $send (param i32 i32)))
  (import "env" "co_yield" (func $yield))
  (memory 0 (pagesize 1))
  (func (export "run") (local $ok i32)
    (loop
      (if (i32.eq (memory.grow (i32.const 256)) (i32.const -1))
        (then (call $send (i32.const 0) (local.get $ok)) (call $yield))
        (else (local.set $ok (i32.add (local.get $ok) (i32.const 1)))))
      (br 0))))
