//! (`gdb`) The system as the debugger stub sees it: every method goes to the
//! kernel, so a run loop can hand the whole [`System`] to a
//! `fireball_sys::gdb::Debugger` between steps and get it back.

use fireball_coos::TaskId;
use fireball_sys::gdb::{Debuggee, Status};
use fireball_wasm::Value;

use crate::System;

impl Debuggee for System<'_> {
    fn task_slots(&self) -> usize {
        self.kernel_ref().task_slots()
    }
    fn status(&self, t: TaskId) -> Status {
        self.kernel_ref().status(t)
    }
    fn code(&self, t: TaskId) -> Option<&[u8]> {
        self.kernel_ref().code(t)
    }
    fn frame_count(&self, t: TaskId) -> usize {
        self.kernel_ref().frame_count(t)
    }
    fn frame_pc(&self, t: TaskId, k: usize) -> Option<u32> {
        self.kernel_ref().frame_pc(t, k)
    }
    fn local(&self, t: TaskId, k: usize, i: u32) -> Option<Value> {
        self.kernel_ref().local(t, k, i)
    }
    fn operand(&self, t: TaskId, k: usize, i: u32) -> Option<u64> {
        self.kernel_ref().operand(t, k, i)
    }
    fn global(&self, t: TaskId, k: usize, i: u32) -> Option<Value> {
        self.kernel_ref().global(t, k, i)
    }
    fn memory(&self, t: TaskId) -> Option<&[u8]> {
        self.kernel_ref().memory(t)
    }
    fn memory_size(&self, t: TaskId) -> u64 {
        self.kernel_ref().memory_size(t)
    }
    fn set_breakpoint(&mut self, t: TaskId, offset: u32) -> bool {
        self.kernel().set_breakpoint(t, offset)
    }
    fn clear_breakpoint(&mut self, t: TaskId, offset: u32) -> bool {
        self.kernel().clear_breakpoint(t, offset)
    }
    fn set_step(&mut self, t: TaskId, on: bool) {
        self.kernel().set_step(t, on)
    }
}
