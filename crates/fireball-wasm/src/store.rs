//! Instantiate: Module → **Instance in a Store**. The store owns every
//! run-time object (functions, tables, memories, globals) of the instances
//! created in it, all allocated from one allocator — give each module its own
//! store and allocator, and its exhaustion is its own. Imports are bound by
//! (module, name) and type-checked here, before any code runs.

use allocator_api2::alloc::{Allocator, Global};
use allocator_api2::vec::Vec;

use crate::error::{push_reserved, try_push, try_resize, InstantiateError, OutOfMemory};
use crate::module::{ImportDesc, Module, SegmentMode, TypeSlot};
use crate::reader::Reader;
use crate::trap::TrapCode;
use crate::types::*;
use crate::value::Value;

/// Resource limits the embedder sets. Going past one traps or fails cleanly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLimits {
    /// Most bytes of linear memory backed per memory, from address 0. A module may
    /// declare more (a C program's one 64 KiB page on a device whose guest
    /// partition is smaller); then its first `max_memory_bytes` bytes are backed
    /// (data, stack, the start of its heap) and its last 256 as well
    /// ([`TAIL_WINDOW`]: where wasi-libc's `malloc` keeps the end marker of the
    /// heap it carves out of the initial memory). Accesses in between trap, and
    /// `memory.grow` returns -1.
    pub max_memory_bytes: u64,
    /// Most elements per table.
    pub max_table_elems: u32,
}

impl Default for HostLimits {
    fn default() -> Self {
        HostLimits { max_memory_bytes: 1 << 32, max_table_elems: 10_000_000 }
    }
}

/// A function address in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FuncAddr(pub u32);
/// A table address in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableAddr(pub u32);
/// A memory address in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryAddr(pub u32);
/// A global address in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalAddr(pub u32);
/// An instance handle in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Instance(pub u32);

/// Something an import can be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extern {
    /// A function (wasm or host).
    Func(FuncAddr),
    /// A table.
    Table(TableAddr),
    /// A memory.
    Memory(MemoryAddr),
    /// A global.
    Global(GlobalAddr),
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum FuncKind {
    Wasm { instance: u32, body: u32 },
    Host { id: u32 },
}

/// A function of the store in 8 bytes (it costs one per function of every
/// instance): its interned signature, and either its instance and body index or,
/// for a host function (instance `HOST`), the embedder's id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FuncInst {
    sig: u16,
    instance: u16,
    index: u32,
}

/// RAM a store spends per function of an instance: its `FuncInst` and the
/// instance's address for it (besides the module's [`crate::FuncBody`]).
pub const STORE_BYTES_PER_FUNC: usize = core::mem::size_of::<FuncInst>() + core::mem::size_of::<u32>();

/// `FuncInst::instance` of a host function.
const HOST: u16 = u16::MAX;

/// A number for a new store, different from every other store's of the program
/// (until 2^32 of them have been made).
fn next_store_id() -> u32 {
    use core::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    #[cfg(target_has_atomic = "32")]
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    // (A target without atomic read-modify-write, such as a Cortex-M0, has one core
    // and makes its stores in one context.)
    #[cfg(not(target_has_atomic = "32"))]
    let id = {
        let id = NEXT.load(Ordering::Relaxed);
        NEXT.store(id.wrapping_add(1), Ordering::Relaxed);
        id
    };
    id
}

/// Instances a store holds, and distinct function signatures it interns, at most
/// (`FuncInst` keeps each in 16 bits).
pub const MAX_STORE_INSTANCES: u32 = HOST as u32;

impl FuncInst {
    /// What the function is.
    #[inline(always)]
    pub(crate) fn kind(self) -> FuncKind {
        if self.instance == HOST {
            FuncKind::Host { id: self.index }
        } else {
            FuncKind::Wasm { instance: self.instance as u32, body: self.index }
        }
    }

    /// Its signature's id in the store.
    #[inline(always)]
    pub(crate) fn sig(self) -> u32 {
        self.sig as u32
    }
}

pub(crate) struct TableInst<A: Allocator> {
    pub elems: Vec<u64, A>,
    pub ty: TableType,
}

/// When a memory is backed only in part, its last `TAIL_WINDOW` bytes are backed
/// too (see [`HostLimits::max_memory_bytes`]).
pub const TAIL_WINDOW: u64 = 256;

/// A memory whose growth is limited to at most this many bytes (a device's
/// partition, not a host's 4 GiB) reserves all of it when it is created.
pub const RESERVE_LIMIT: u64 = 16 << 20;

pub(crate) struct MemoryInst<A: Allocator> {
    /// Backed bytes from address 0: all `pages * page_size` of them, or as many as
    /// the limit allows less the tail window.
    pub data: Vec<u8, A>,
    /// The tail window, when the memory is backed only in part: the bytes at
    /// `tail_start..pages * page_size` (empty otherwise).
    pub tail: Vec<u8, A>,
    /// (32 bits: below 4 GiB whenever the tail is not empty; the counter below
    /// then fills the other half of its 8 bytes, so the instance stays 88 B.)
    pub tail_start: u32,
    pub pages: u64,
    pub ty: MemoryType,
    pub limit: u64,
    /// `memory.grow`s the embedder's limit refused (not the module's own maximum).
    pub refused: u32,
}

impl<A: Allocator> MemoryInst<A> {
    /// `n` bytes at `ea`, wholly inside the low part or the tail window; `None` otherwise.
    #[cold]
    #[inline(never)]
    pub fn window_mut(&mut self, ea: u64, n: u64) -> Option<&mut [u8]> {
        let end = ea.checked_add(n)?;
        if end <= self.data.len() as u64 {
            return self.data.get_mut(ea as usize..end as usize);
        }
        let off = ea.checked_sub(u64::from(self.tail_start))?;
        self.tail.get_mut(off as usize..(off + n) as usize)
    }

    /// `n` bytes at `ea` in the tail window (the slow path of a load or store).
    #[cold]
    #[inline(never)]
    #[cfg(not(m0_bottom))]
    pub fn tail_mut(&mut self, ea: u64, n: u64) -> Option<&mut [u8]> {
        let off = ea.checked_sub(u64::from(self.tail_start))?;
        self.tail.get_mut(off as usize..(off + n) as usize)
    }

    /// `memory.grow`: the old size in pages, or -1 (always -1 for a memory backed only in
    /// part, but for a growth by 0 pages, which asks for no memory: the size).
    pub fn grow(&mut self, delta: u64) -> i64 {
        if delta == 0 {
            return self.pages as i64;
        }
        if !self.tail.is_empty() {
            return self.refuse();
        }
        let old = self.pages;
        let new = old + delta;
        let max = self.ty.limits.max.unwrap_or(u64::MAX).min(self.ty.max_pages_allowed());
        if new > max {
            return -1;
        }
        let bytes = new << self.ty.page_size_log2;
        if bytes > self.limit || crate::raw::grow_zeroed(&mut self.data, bytes as usize).is_err() {
            return self.refuse();
        }
        self.pages = new;
        old as i64
    }

    /// A `memory.grow` the embedder's limit or allocator refused (not the module's own
    /// maximum): counted, so a tool can tell why a program ran out of memory.
    #[cold]
    fn refuse(&mut self) -> i64 {
        self.refused = self.refused.wrapping_add(1);
        -1
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct GlobalInst {
    pub value: u64,
    pub ty: GlobalType,
}

pub(crate) struct InstanceData<'m, A: Allocator + Clone, M: Allocator + Clone> {
    pub module: &'m Module<'m, M>,
    pub funcs: Vec<u32, A>,
    pub tables: Vec<u32, A>,
    pub memories: Vec<u32, A>,
    pub globals: Vec<u32, A>,
    /// Module type index → store signature id.
    pub sigs: Vec<u32, A>,
    /// First of this instance's element segments in `Store::elem_items`.
    pub elem_base: u32,
    /// First of this instance's data segments in `Store::data_dropped`.
    pub data_base: u32,
}

/// Every run-time object of the instances created in it, allocated from `A`
/// (a module's partition); the modules' own metadata may live elsewhere (`M`).
pub struct Store<'m, A: Allocator + Clone = Global, M: Allocator + Clone = A> {
    /// This store among the others of the program (1, 2, …): a thread runs only in
    /// the store it was invoked in (its saved `pc`, frames and function addresses
    /// mean nothing in another, and the loop trusts them).
    pub(crate) id: u32,
    pub(crate) alloc: A,
    pub(crate) limits: HostLimits,
    pub(crate) sig_types: Vec<ValType, A>,
    pub(crate) sigs: Vec<TypeSlot, A>,
    pub(crate) funcs: Vec<FuncInst, A>,
    pub(crate) tables: Vec<TableInst<A>, A>,
    pub(crate) memories: Vec<MemoryInst<A>, A>,
    pub(crate) globals: Vec<GlobalInst, A>,
    pub(crate) instances: Vec<InstanceData<'m, A, M>, A>,
    /// Items of every instance's element segments; emptied by `elem.drop`.
    pub(crate) elem_items: Vec<Vec<u64, A>, A>,
    /// Whether each instance's data segments have been dropped.
    pub(crate) data_dropped: Vec<bool, A>,
}

impl<'m> Store<'m, Global> {
    /// An empty store on the global allocator.
    pub fn new(limits: HostLimits) -> Self {
        Self::new_in(limits, Global)
    }
}

impl<'m, A: Allocator + Clone, M: Allocator + Clone> Store<'m, A, M> {
    /// An empty store whose objects all come from `alloc`.
    pub fn new_in(limits: HostLimits, alloc: A) -> Self {
        Store {
            id: next_store_id(),
            sig_types: Vec::new_in(alloc.clone()),
            sigs: Vec::new_in(alloc.clone()),
            funcs: Vec::new_in(alloc.clone()),
            tables: Vec::new_in(alloc.clone()),
            memories: Vec::new_in(alloc.clone()),
            globals: Vec::new_in(alloc.clone()),
            instances: Vec::new_in(alloc.clone()),
            elem_items: Vec::new_in(alloc.clone()),
            data_dropped: Vec::new_in(alloc.clone()),
            alloc,
            limits,
        }
    }

    /// The limits this store enforces.
    pub fn limits(&self) -> HostLimits {
        self.limits
    }

    fn intern(&mut self, params: &[ValType], results: &[ValType]) -> Result<u32, OutOfMemory> {
        let (np, nr) = (params.len(), results.len());
        for (i, s) in self.sigs.iter().enumerate() {
            // Stored as the params then the results, in one run of `sig_types`.
            let st = s.start as usize;
            if (s.params as usize, s.results as usize) == (np, nr)
                && self.sig_types.get(st..st + np) == Some(params)
                && self.sig_types.get(st + np..st + np + nr) == Some(results)
            {
                return Ok(i as u32);
            }
        }
        let start = self.sig_types.len() as u32;
        self.sig_types.try_reserve(params.len() + results.len()).map_err(|_| OutOfMemory)?;
        // Into the room just reserved (`extend_from_slice` would inline a second growth path).
        for &t in params.iter().chain(results) {
            push_reserved(&mut self.sig_types, t)?;
        }
        if self.sigs.len() >= MAX_STORE_INSTANCES as usize {
            return Err(OutOfMemory);
        }
        try_push(&mut self.sigs, TypeSlot { start, params: params.len() as u16, results: results.len() as u16 })?;
        Ok(self.sigs.len() as u32 - 1)
    }

    #[inline(never)]
    pub(crate) fn sig(&self, id: u32) -> FuncType<'_> {
        match self.sigs.get(id as usize) {
            Some(s) => {
                let st = s.start as usize;
                let p = st + s.params as usize;
                let types = |r: core::ops::Range<usize>| self.sig_types.get(r).unwrap_or(&[]);
                FuncType { params: types(st..p), results: types(p..p + s.results as usize) }
            }
            None => FuncType { params: &[], results: &[] },
        }
    }

    /// Register a host function of the given signature. When wasm calls it, the
    /// thread exits with `Exit::HostCall` carrying `id`.
    pub fn host_func(&mut self, params: &[ValType], results: &[ValType], id: u32) -> Result<FuncAddr, OutOfMemory> {
        let sig = self.intern(params, results)?;
        try_push(&mut self.funcs, FuncInst { sig: sig as u16, instance: HOST, index: id })?;
        Ok(FuncAddr(self.funcs.len() as u32 - 1))
    }

    /// Reserve room for `n` more functions (host functions and a module's own)
    /// in one allocation, so registering them does not grow the table step by
    /// step (which leaves holes in a small partition).
    pub fn reserve_funcs(&mut self, n: usize) -> Result<(), OutOfMemory> {
        self.funcs.try_reserve_exact(n).map_err(|_| OutOfMemory)
    }

    /// A stand-alone global.
    pub fn global(&mut self, ty: GlobalType, value: Value) -> Result<GlobalAddr, OutOfMemory> {
        try_push(&mut self.globals, GlobalInst { value: value.to_bits(), ty })?;
        Ok(GlobalAddr(self.globals.len() as u32 - 1))
    }

    /// A stand-alone table filled with null.
    ///
    /// (Out of line: inlined into `instantiate`, the copy of the module's table type
    /// into `tables` became a `memmove` call at opt-level "z", since LLVM could not
    /// tell the two heap blocks apart, and that linked compiler-builtins' 1.6 KB
    /// `memmove`; here `ty` is this call's own copy.)
    #[inline(never)]
    pub fn table(&mut self, ty: TableType) -> Result<TableAddr, OutOfMemory> {
        let mut elems = Vec::new_in(self.alloc.clone());
        try_resize(&mut elems, ty.limits.min as usize, 0)?;
        try_push(&mut self.tables, TableInst { elems, ty })?;
        Ok(TableAddr(self.tables.len() as u32 - 1))
    }

    /// A stand-alone memory.
    pub fn memory(&mut self, ty: MemoryType) -> Result<MemoryAddr, OutOfMemory> {
        let limit = self.limits.max_memory_bytes;
        let declared = ty.limits.min << ty.page_size_log2;
        // Backed in part: the bottom, and the tail window unless it would touch the bottom.
        let tail_len = if declared >= limit + 2 * TAIL_WINDOW { TAIL_WINDOW } else { 0 };
        let bytes = declared.min(limit);
        let mut data = Vec::new_in(self.alloc.clone());
        // A memory that may grow takes its whole budget now, when the budget is a device's
        // (at most `RESERVE_LIMIT`): `memory.grow` then never reallocates, which in a small
        // partition would need the old and the new block at once.
        let budget = ty.limits.max.map_or(limit, |m| (m << ty.page_size_log2).min(limit));
        if budget > bytes && budget <= RESERVE_LIMIT && tail_len == 0 {
            let _ = data.try_reserve_exact(budget as usize);
        }
        crate::raw::grow_zeroed(&mut data, bytes as usize)?;
        let mut tail = Vec::new_in(self.alloc.clone());
        crate::raw::grow_zeroed(&mut tail, tail_len as usize)?;
        let mem = MemoryInst { data, tail, tail_start: u32::try_from(declared - tail_len).unwrap_or(u32::MAX), pages: ty.limits.min, ty, limit, refused: 0 };
        try_push(&mut self.memories, mem)?;
        Ok(MemoryAddr(self.memories.len() as u32 - 1))
    }

    /// Signature of a function.
    pub fn func_type(&self, f: FuncAddr) -> FuncType<'_> {
        self.funcs.get(f.0 as usize).map_or(FuncType { params: &[], results: &[] }, |fi| self.sig(fi.sig()))
    }

    /// The module and function index behind a wasm function (None for host functions).
    pub fn func_origin(&self, f: FuncAddr) -> Option<(&'m Module<'m, M>, u32)> {
        match self.funcs.get(f.0 as usize)?.kind() {
            FuncKind::Wasm { instance, body } => {
                let m = self.instances.get(instance as usize)?.module;
                Some((m, m.imported_funcs + body))
            }
            FuncKind::Host { .. } => None,
        }
    }

    /// Read a global.
    pub fn global_get(&self, g: GlobalAddr) -> Option<Value> {
        self.globals.get(g.0 as usize).map(|gi| Value::from_bits(gi.value, gi.ty.ty))
    }

    /// A memory's backed bytes from address 0 (for a memory backed only in part,
    /// the tail window is not included: a host function cannot reach it).
    pub fn memory_data(&self, m: MemoryAddr) -> Option<&[u8]> {
        self.memories.get(m.0 as usize).map(|mi| &mi.data[..])
    }

    /// How many `memory.grow`s on memory `m` the host's limit or allocator refused
    /// (those past the module's own declared maximum are not counted): why a program
    /// that ran out of memory did, for a tool that explains a trap.
    pub fn memory_refused_grows(&self, m: MemoryAddr) -> u32 {
        self.memories.get(m.0 as usize).map_or(0, |mi| mi.refused)
    }

    /// A memory's backed bytes, writable (for host functions that fill guest buffers).
    pub fn memory_data_mut(&mut self, m: MemoryAddr) -> Option<&mut [u8]> {
        self.memories.get_mut(m.0 as usize).map(|mi| &mut mi.data[..])
    }

    /// A table's current size in elements.
    pub fn table_size(&self, t: TableAddr) -> Option<u32> {
        self.tables.get(t.0 as usize).map(|ti| ti.elems.len() as u32)
    }

    /// Element `index` of a table (a `FuncRef` or `ExternRef`), if in bounds.
    pub fn table_get(&self, t: TableAddr, index: u32) -> Option<Value> {
        let ti = self.tables.get(t.0 as usize)?;
        ti.elems.get(index as usize).map(|&bits| Value::from_bits(bits, ti.ty.elem))
    }

    /// Bytes of linear memory, tables and globals held by this store.
    pub fn heap_bytes(&self) -> usize {
        self.memories.iter().map(|m| m.data.capacity() + m.tail.capacity()).sum::<usize>()
            + self.tables.iter().map(|t| t.elems.capacity() * 8).sum::<usize>()
            + self.globals.capacity() * core::mem::size_of::<GlobalInst>()
    }

    /// Look up an export of an instance.
    pub fn export(&self, inst: Instance, name: &str) -> Option<Extern> {
        let d = self.instances.get(inst.0 as usize)?;
        let (kind, idx) = d.module.export(name)?;
        let i = idx as usize;
        Some(match kind {
            ExternKind::Func => Extern::Func(FuncAddr(*d.funcs.get(i)?)),
            ExternKind::Table => Extern::Table(TableAddr(*d.tables.get(i)?)),
            ExternKind::Memory => Extern::Memory(MemoryAddr(*d.memories.get(i)?)),
            ExternKind::Global => Extern::Global(GlobalAddr(*d.globals.get(i)?)),
        })
    }

    /// The exported function `name`, if there is one.
    pub fn export_func(&self, inst: Instance, name: &str) -> Option<FuncAddr> {
        match self.export(inst, name)? {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }

    /// Memory `index` of an instance (imported or defined), for host functions that
    /// read or write guest buffers.
    pub fn instance_memory(&self, inst: Instance, index: u32) -> Option<MemoryAddr> {
        let d = self.instances.get(inst.0 as usize)?;
        d.memories.get(index as usize).map(|&a| MemoryAddr(a))
    }

    /// Global `index` of an instance (imported or defined): for a tool that reads a
    /// guest's state, such as a C program's `__stack_pointer` (global 0) after a trap.
    pub fn instance_global(&self, inst: Instance, index: u32) -> Option<GlobalAddr> {
        let d = self.instances.get(inst.0 as usize)?;
        d.globals.get(index as usize).map(|&a| GlobalAddr(a))
    }

    /// The instance's start function, which the embedder runs on a thread after instantiation.
    pub fn start_func(&self, inst: Instance) -> Option<FuncAddr> {
        let d = self.instances.get(inst.0 as usize)?;
        let f = d.module.start?;
        d.funcs.get(f as usize).map(|&a| FuncAddr(a))
    }

    fn import_matches(&self, desc: &ImportDesc, module: &Module<'m, M>, ext: Extern) -> bool {
        match (desc, ext) {
            (ImportDesc::Func(t), Extern::Func(f)) => match (self.funcs.get(f.0 as usize), module.type_at(*t)) {
                (Some(fi), Some(ft)) => self.sig(fi.sig()) == ft,
                _ => false,
            },
            (ImportDesc::Table(t), Extern::Table(a)) => self.tables.get(a.0 as usize).is_some_and(|ti| {
                ti.ty.elem == t.elem
                    && Limits { min: ti.elems.len() as u64, max: ti.ty.limits.max }.matches(&t.limits)
            }),
            (ImportDesc::Memory(t), Extern::Memory(a)) => self.memories.get(a.0 as usize).is_some_and(|mi| {
                mi.ty.page_size_log2 == t.page_size_log2
                    && Limits { min: mi.pages, max: mi.ty.limits.max }.matches(&t.limits)
            }),
            (ImportDesc::Global(t), Extern::Global(a)) => self.globals.get(a.0 as usize).is_some_and(|gi| gi.ty == *t),
            _ => false,
        }
    }

    /// Instantiate `module`, binding each import through `resolve(module, name, desc)`.
    /// Active segments are copied in; the start function is *not* run (see [`Store::start_func`]).
    #[inline(never)]
    pub fn instantiate(
        &mut self,
        module: &'m Module<'m, M>,
        mut resolve: impl FnMut(&str, &str, &ImportDesc) -> Option<Extern>,
    ) -> Result<Instance, InstantiateError> {
        if self.instances.len() >= MAX_STORE_INSTANCES as usize {
            return Err(InstantiateError::StoreLimit);
        }
        let a = self.alloc.clone();
        let mut d = InstanceData {
            module,
            funcs: Vec::new_in(a.clone()),
            tables: Vec::new_in(a.clone()),
            memories: Vec::new_in(a.clone()),
            globals: Vec::new_in(a.clone()),
            sigs: Vec::new_in(a.clone()),
            elem_base: self.elem_items.len() as u32,
            data_base: self.data_dropped.len() as u32,
        };
        // Every vector's final size is known: reserve it exactly (no doubling, no slack in a small partition).
        d.funcs = reserved(&a, module.funcs.len());
        d.tables = reserved(&a, module.tables.len());
        d.memories = reserved(&a, module.memories.len());
        d.globals = reserved(&a, module.globals.len());
        d.sigs = reserved(&a, module.types.len());
        self.funcs.try_reserve_exact(module.bodies.len()).map_err(|_| OutOfMemory)?;
        self.globals.try_reserve_exact(module.globals.len() - module.imported_globals as usize).map_err(|_| OutOfMemory)?;
        self.instances.try_reserve_exact(1).map_err(|_| OutOfMemory)?;
        for (index, imp) in module.imports.iter().enumerate() {
            let index = index as u32;
            let ext = resolve(module.str_at(imp.module), module.str_at(imp.name), &imp.desc)
                .ok_or(InstantiateError::UnknownImport { index })?;
            if !self.import_matches(&imp.desc, module, ext) {
                return Err(InstantiateError::IncompatibleImport { index });
            }
            match ext {
                Extern::Func(f) => push_reserved(&mut d.funcs, f.0)?,
                Extern::Table(t) => push_reserved(&mut d.tables, t.0)?,
                Extern::Memory(m) => push_reserved(&mut d.memories, m.0)?,
                Extern::Global(g) => push_reserved(&mut d.globals, g.0)?,
            }
        }
        for i in 0..module.types.len() {
            let ft = module.type_at(i as u32).unwrap_or(FuncType { params: &[], results: &[] });
            let id = self.intern(ft.params, ft.results).map_err(|_| {
                if self.sigs.len() >= MAX_STORE_INSTANCES as usize {
                    InstantiateError::StoreLimit
                } else {
                    InstantiateError::OutOfMemory
                }
            })?;
            push_reserved(&mut d.sigs, id)?;
        }
        let instance = self.instances.len() as u32;
        for body in 0..module.bodies.len() as u32 {
            // (Validated: every defined function has a type; `get` keeps a panic path out.)
            let t = module.funcs.get((module.imported_funcs + body) as usize).copied().unwrap_or(0);
            let sig = d.sigs.get(t as usize).copied().unwrap_or(0);
            push_reserved(&mut self.funcs, FuncInst { sig: sig as u16, instance: instance as u16, index: body })?;
            push_reserved(&mut d.funcs, self.funcs.len() as u32 - 1)?;
        }
        for t in module.tables.get(module.imported_tables as usize..).unwrap_or(&[]) {
            if t.limits.min > self.limits.max_table_elems as u64 {
                return Err(InstantiateError::TableLimit);
            }
            let a = self.table(*t)?;
            push_reserved(&mut d.tables, a.0)?;
        }
        for m in module.memories.get(module.imported_memories as usize..).unwrap_or(&[]) {
            let a = self.memory(*m)?;
            push_reserved(&mut d.memories, a.0)?;
        }
        for g in module.globals.get(module.imported_globals as usize..).unwrap_or(&[]) {
            let (v, _) = self.eval_const(&d, g.init)?;
            push_reserved(&mut self.globals, GlobalInst { value: v, ty: g.ty })?;
            push_reserved(&mut d.globals, self.globals.len() as u32 - 1)?;
        }
        self.elem_items.try_reserve_exact(module.elems.len()).map_err(|_| OutOfMemory)?;
        self.data_dropped.try_reserve_exact(module.datas.len()).map_err(|_| OutOfMemory)?;
        for seg in module.elems.iter() {
            let mut items = Vec::new_in(a.clone());
            items.try_reserve_exact(seg.count as usize).map_err(|_| OutOfMemory)?;
            let mut r = Reader::new(module.bytes, seg.items as usize, module.bytes.len());
            for _ in 0..seg.count {
                let v = if seg.exprs {
                    let (v, end) = self.eval_const(&d, r.pos() as u32)?;
                    r = Reader::new(module.bytes, end, module.bytes.len());
                    v
                } else {
                    let f = r.u32().unwrap_or(0);
                    d.funcs.get(f as usize).map_or(0, |&a| a as u64 + 1)
                };
                push_reserved(&mut items, v)?;
            }
            push_reserved(&mut self.elem_items, items)?;
        }
        for _ in module.datas.iter() {
            push_reserved(&mut self.data_dropped, false)?;
        }
        push_reserved(&mut self.instances, d)?;
        let inst = Instance(instance);
        let d = self.instances.get(instance as usize).ok_or(InstantiateError::SegmentOutOfBounds(TrapCode::Internal))?;
        // Active and declarative segments: initialize, then drop (spec 2.0 order).
        for (i, seg) in module.elems.iter().enumerate() {
            match seg.mode {
                SegmentMode::Active { index, offset } => {
                    let off = self.eval_const(d, offset)?.0 as u32;
                    let n = seg.count;
                    table_init(d, &mut self.tables, &self.elem_items, index, i as u32, off, 0, n)
                        .map_err(InstantiateError::SegmentOutOfBounds)?;
                    drop_elem(&mut self.elem_items, d, i as u32);
                }
                SegmentMode::Declarative => drop_elem(&mut self.elem_items, d, i as u32),
                SegmentMode::Passive => {}
            }
        }
        for (i, seg) in module.datas.iter().enumerate() {
            if let SegmentMode::Active { index, offset } = seg.mode {
                let off = self.eval_const(d, offset)?.0 as u32;
                memory_init(d, &mut self.memories, &self.data_dropped, index, i as u32, off, 0, seg.len)
                    .map_err(InstantiateError::SegmentOutOfBounds)?;
                if let Some(x) = self.data_dropped.get_mut((d.data_base + i as u32) as usize) {
                    *x = true;
                }
            }
        }
        Ok(inst)
    }

    /// Evaluate the (validated) constant expression at `at` in the instance's module;
    /// also where it ends. Its values live in a 16-slot array on the native stack;
    /// a deeper expression (extended constants nest without a bound) gets a vector
    /// from the store's allocator, as deep as the first pass found it.
    fn eval_const(&self, d: &InstanceData<'m, A, M>, at: u32) -> Result<(u64, usize), OutOfMemory> {
        let depth = match self.eval_on(d, at, &mut [0u64; 16]) {
            Ok(r) => return Ok(r),
            Err(depth) => depth,
        };
        let mut stack: Vec<u64, A> = Vec::new_in(self.alloc.clone());
        try_resize(&mut stack, depth, 0)?;
        Ok(self.eval_on(d, at, &mut stack).unwrap_or((0, at as usize)))
    }

    /// [`Self::eval_const`] on `stack`; if the expression needs more slots, it is
    /// still read to its end, and `Err` holds how many.
    fn eval_on(&self, d: &InstanceData<'m, A, M>, at: u32, stack: &mut [u64]) -> Result<(u64, usize), usize> {
        let m = d.module;
        let mut r = Reader::new(m.bytes, at as usize, m.bytes.len());
        let (mut n, mut deepest) = (0usize, 0usize);
        loop {
            let op = r.u8().unwrap_or(0x0b);
            let v = match op {
                0x0b => break,
                0x41 => r.i32().unwrap_or(0) as u32 as u64,
                0x42 => r.i64().unwrap_or(0) as u64,
                0x43 => r.f32_bits().unwrap_or(0) as u64,
                0x44 => r.f64_bits().unwrap_or(0),
                0xd0 => {
                    let _ = r.u8();
                    0
                }
                0xd2 => {
                    let f = r.u32().unwrap_or(0);
                    d.funcs.get(f as usize).map_or(0, |&a| a as u64 + 1)
                }
                0x23 => {
                    let g = r.u32().unwrap_or(0);
                    let ga = d.globals.get(g as usize).copied().unwrap_or(u32::MAX);
                    self.globals.get(ga as usize).map_or(0, |gi| gi.value)
                }
                0x6a..=0x6c | 0x7c..=0x7e if n >= 2 => {
                    n -= 2;
                    let (x, y) = (stack.get(n).copied().unwrap_or(0), stack.get(n + 1).copied().unwrap_or(0));
                    match op {
                        0x6a => (x as u32).wrapping_add(y as u32) as u64,
                        0x6b => (x as u32).wrapping_sub(y as u32) as u64,
                        0x6c => (x as u32).wrapping_mul(y as u32) as u64,
                        0x7c => x.wrapping_add(y),
                        0x7d => x.wrapping_sub(y),
                        _ => x.wrapping_mul(y),
                    }
                }
                // Not a constant instruction: the validator refused the module already.
                _ => 0,
            };
            if let Some(slot) = stack.get_mut(n) {
                *slot = v;
            }
            n += 1;
            deepest = deepest.max(n);
        }
        if deepest > stack.len() {
            return Err(deepest);
        }
        Ok((stack.get(n.wrapping_sub(1)).copied().unwrap_or(0), r.pos()))
    }
}

/// An empty index vector with room for exactly `n` (none if the allocator refuses:
/// the pushes into it then report exhaustion). Out of line: one copy of the growth code.
#[inline(never)]
fn reserved<A: Allocator + Clone>(a: &A, n: usize) -> Vec<u32, A> {
    let mut v = Vec::new_in(a.clone());
    let _ = v.try_reserve_exact(n);
    v
}

/// `elem.drop`: forget a segment's items (and free them).
pub(crate) fn drop_elem<A: Allocator + Clone, M: Allocator + Clone>(items: &mut [Vec<u64, A>], d: &InstanceData<'_, A, M>, seg: u32) {
    if let Some(v) = items.get_mut((d.elem_base + seg) as usize) {
        // Freed, not shrunk (a refused shrink would abort).
        *v = Vec::new_in(v.allocator().clone());
    }
}

/// `table.init`: copy `n` items of segment `seg` from `src` into table `table` at `dst`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn table_init<A: Allocator + Clone, M: Allocator + Clone>(
    d: &InstanceData<'_, A, M>,
    tables: &mut [TableInst<A>],
    elem_items: &[Vec<u64, A>],
    table: u32,
    seg: u32,
    dst: u32,
    src: u32,
    n: u32,
) -> Result<(), TrapCode> {
    let items = elem_items.get((d.elem_base + seg) as usize).ok_or(TrapCode::Internal)?;
    let ta = *d.tables.get(table as usize).ok_or(TrapCode::Internal)?;
    let t = tables.get_mut(ta as usize).ok_or(TrapCode::Internal)?;
    let (dst, src, n) = (dst as usize, src as usize, n as usize);
    if src.checked_add(n).is_none_or(|e| e > items.len()) || dst.checked_add(n).is_none_or(|e| e > t.elems.len()) {
        return Err(TrapCode::TableOutOfBounds);
    }
    t.elems[dst..dst + n].copy_from_slice(&items[src..src + n]);
    Ok(())
}

/// `memory.init`: copy `n` bytes of data segment `seg` from `src` into memory `mem` at `dst`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn memory_init<A: Allocator + Clone, M: Allocator + Clone>(
    d: &InstanceData<'_, A, M>,
    memories: &mut [MemoryInst<A>],
    data_dropped: &[bool],
    mem: u32,
    seg: u32,
    dst: u32,
    src: u32,
    n: u32,
) -> Result<(), TrapCode> {
    let s = d.module.datas.get(seg as usize).ok_or(TrapCode::Internal)?;
    let dropped = data_dropped.get((d.data_base + seg) as usize).copied().unwrap_or(true);
    let len = if dropped { 0 } else { s.len as usize };
    let ma = *d.memories.get(mem as usize).ok_or(TrapCode::Internal)?;
    let m = memories.get_mut(ma as usize).ok_or(TrapCode::Internal)?;
    let (dst, src, n) = (dst as usize, src as usize, n as usize);
    if src.checked_add(n).is_none_or(|e| e > len) {
        return Err(TrapCode::MemoryOutOfBounds);
    }
    let to = m.window_mut(dst as u64, n as u64).ok_or(TrapCode::MemoryOutOfBounds)?;
    let from = s.start as usize + src;
    let from = d.module.bytes.get(from..from + n).ok_or(TrapCode::Internal)?;
    if to.len() == from.len() {
        to.copy_from_slice(from);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{Extern, HostLimits, Module, Store, Value};

    /// Per-function records stay as small as a side-table entry.
    #[test]
    fn per_function_records_are_eight_bytes() {
        assert_eq!(core::mem::size_of::<super::FuncInst>(), 8);
        assert_eq!(core::mem::size_of::<crate::FuncBody>(), 8);
        assert_eq!(super::STORE_BYTES_PER_FUNC, 12);
    }
    use std::format;
    use std::string::String;

    /// Extended constant expressions nest as deep as the allocator allows: no fixed
    /// depth (it was 16), in the validator and at instantiation.
    #[test]
    fn deep_constant_expressions_validate_and_evaluate() {
        for depth in [20u32, 300] {
            // 1 + 2 + ... + depth, right-nested: every constant is pushed before the first add.
            let consts: String = (1..=depth).map(|k| format!("(i32.const {k}) ")).collect();
            let adds = "(i32.add) ".repeat(depth as usize - 1);
            let wat = format!(r#"(module (global (export "g") i32 {consts}{adds}))"#);
            let wasm = wat::parse_str(&wat).unwrap();
            let m = Module::new(&wasm).unwrap();
            let mut store = Store::new(HostLimits::default());
            let inst = store.instantiate(&m, |_, _, _| None).unwrap();
            let Some(Extern::Global(g)) = store.export(inst, "g") else { panic!("no global") };
            assert_eq!(store.global_get(g), Some(Value::I32((depth * (depth + 1) / 2) as i32)));
        }
    }
}
