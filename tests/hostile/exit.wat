;; Prints, works a few slices, then calls WASI proc_exit(3) in the middle of its loop.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "env" "co_yield" (func $yield))
  (memory 1)
  (data (i32.const 0) "\10\00\00\00\0e\00\00\00")
  (data (i32.const 16) "about to exit\n")
  (func (export "run") (local $i i32)
    (loop
      (call $yield)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (if (i32.eq (local.get $i) (i32.const 20))
        (then
          (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32)))
          (call $exit (i32.const 3))
          (unreachable)))
      (br 0))))
