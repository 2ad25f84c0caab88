;; Works a few slices, then traps: under a `restart` policy it is loaded again
;; each time, fresh, until the policy's count runs out. `at_once` traps on its
;; first instruction.
(module
  (import "env" "co_yield" (func $yield))
  (import "env" "ch_send" (func $send (param i32 i32)))
  (memory 1)
  (func (export "later") (local $i i32)
    ;; linear memory is fresh after each restart: the count starts at 0 again
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (call $send (i32.const 0) (i32.load (i32.const 0)))
    (loop (call $yield) (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if 0 (i32.lt_u (local.get $i) (i32.const 10))))
    (unreachable))
  (func (export "at_once") (unreachable)))
