;; Grows its table 64 entries at a time (8 bytes each in its partition) until
;; the runtime refuses: the host limit (1 024 entries) or its partition.
(module
  (import "env" "ch_send" (func $send (param i32 i32)))
  (import "env" "co_yield" (func $yield))
  (table 0 funcref)
  (func (export "run")
    (loop
      (call $send (i32.const 0) (table.grow (ref.null func) (i32.const 64)))
      (call $yield)
      (br 0))))
