;; Unbounded recursion, each frame with a few locals: the interpreter's stacks
;; (in the module's coroutine stack) run out and the call traps.
(module
  (func $f (param i32) (result i32) (local i64 i64 i64 i64)
    (i32.add (call $f (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "run") (drop (call $f (i32.const 0)))))
