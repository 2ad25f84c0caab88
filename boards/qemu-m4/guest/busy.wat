;; Kernel benchmark guest: spins forever; only the automatic yield stops it.
(module (func (export "main") (loop (br 0))))
