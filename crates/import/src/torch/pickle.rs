//! A pickle machine that builds values and never runs code: only the globals a PyTorch
//! state dict needs are accepted, and every length and index read from the file is checked.
//!
//! Values live in one arena and the stack holds indices into it, so containers that the
//! pickle mutates after memoizing them (EMPTY_DICT, BINPUT, SETITEMS) are shared exactly as
//! Python shares them. Each opcode adds at most one value, so memory stays proportional to
//! the pickle's length.

use std::collections::HashMap;

/// Index of a value in a [`Pickle`]'s arena.
pub(crate) type Id = usize;

/// Element types of the tensors krust reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dtype {
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
    U16,
    U32,
    U64,
}

impl Dtype {
    pub(crate) fn size(self) -> usize {
        match self {
            Dtype::F64 | Dtype::I64 | Dtype::U64 => 8,
            Dtype::F32 | Dtype::I32 | Dtype::U32 => 4,
            Dtype::F16 | Dtype::BF16 | Dtype::I16 | Dtype::U16 => 2,
            Dtype::I8 | Dtype::U8 | Dtype::Bool => 1,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Dtype::F64 => "float64",
            Dtype::F32 => "float32",
            Dtype::F16 => "float16",
            Dtype::BF16 => "bfloat16",
            Dtype::I64 => "int64",
            Dtype::I32 => "int32",
            Dtype::I16 => "int16",
            Dtype::I8 => "int8",
            Dtype::U8 => "uint8",
            Dtype::Bool => "bool",
            Dtype::U16 => "uint16",
            Dtype::U32 => "uint32",
            Dtype::U64 => "uint64",
        }
    }
}

/// A storage named by a persistent id: `('storage', <type>, key, location, numel[, view])`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StorageRef {
    pub key: String,
    /// `None` for an `UntypedStorage` (bytes; the tensor's dtype comes from `_rebuild_tensor_v3`).
    pub dtype: Option<Dtype>,
    /// The element count the pickle claims; only the legacy format relies on it (to size
    /// the storage records that follow the pickles), and never to allocate.
    pub numel: u64,
    /// Legacy storage views: the view starts this many storage elements into `key`.
    pub view_offset: u64,
}

/// A tensor as `_rebuild_tensor_v2/v3` describes it; its values are read later, once the
/// storages are known (the legacy format stores them after the pickle).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TensorRef {
    pub storage: StorageRef,
    pub dtype: Dtype,
    pub offset: usize,
    pub shape: Vec<usize>,
    pub stride: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Global {
    OrderedDict,
    RebuildTensor,
    RebuildTensorV2,
    RebuildTensorV3,
    RebuildParameter,
    RebuildParameterWithState,
    Storage(Option<Dtype>),
    Dtype(Dtype),
}

#[derive(Debug)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    /// Byte strings are kept only as a kind; no state dict needs their contents.
    Bytes,
    List(Vec<Id>),
    Tuple(Vec<Id>),
    Dict(Vec<(Id, Id)>),
    Set(Vec<Id>),
    Global(Global),
    // Boxed so that every value stays 32 bytes: the arena grows by one value per opcode.
    Storage(Box<StorageRef>),
    Tensor(Box<TensorRef>),
}

// The arena's memory is this size times the number of opcodes, so keep it small.
const _: () = assert!(std::mem::size_of::<Value>() <= 32);

/// A fully read pickle: its values, the root, and the bytes it took.
pub(crate) struct Pickle {
    values: Vec<Value>,
    root: Id,
    pub consumed: usize,
}

impl Pickle {
    pub(crate) fn root(&self) -> &Value {
        &self.values[self.root]
    }

    pub(crate) fn value(&self, id: Id) -> &Value {
        &self.values[id]
    }

    /// Every storage a persistent id named, in order of appearance.
    pub(crate) fn storages(&self) -> impl Iterator<Item = &StorageRef> {
        self.values.iter().filter_map(|v| match v {
            Value::Storage(s) => Some(&**s),
            _ => None,
        })
    }

    /// A short rendering of a key for messages: strings and numbers as Python prints them.
    pub(crate) fn describe(&self, id: Id) -> String {
        match &self.values[id] {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            Value::None => "None".to_string(),
            other => format!("<{}>", kind(other)),
        }
    }
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::None => "None",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Str(_) => "str",
        Value::Bytes => "bytes",
        Value::List(_) => "list",
        Value::Tuple(_) => "tuple",
        Value::Dict(_) => "dict",
        Value::Set(_) => "set",
        Value::Global(_) => "global",
        Value::Storage(_) => "storage",
        Value::Tensor(_) => "tensor",
    }
}

/// MARK nesting allowed; real checkpoints nest a handful of levels, and Python itself
/// cannot pickle much past its recursion limit of 1000.
const MAX_MARK_DEPTH: usize = 1000;
/// Stack entries allowed; pickle batches list and dict items by the thousand.
const MAX_STACK: usize = 1 << 20;
/// Integers wider than this (LONG1/LONG4) are refused; torch's magic number needs 10 bytes.
const MAX_INT_BYTES: usize = 16;
/// Longest text line (protocol-0 GLOBAL, INT, FLOAT, PUT, GET arguments).
const MAX_LINE: usize = 1024;
/// Arena slots of the singletons None, False and True.
const NONE: Id = 0;
const FALSE: Id = 1;
const TRUE: Id = 2;

fn global(module: &str, name: &str) -> Result<Global, String> {
    let storage = |d| Ok(Global::Storage(Some(d)));
    let dtype = |d| Ok(Global::Dtype(d));
    match (module, name) {
        ("collections", "OrderedDict") => Ok(Global::OrderedDict),
        ("torch._utils", "_rebuild_tensor") => Ok(Global::RebuildTensor),
        ("torch._utils", "_rebuild_tensor_v2") => Ok(Global::RebuildTensorV2),
        ("torch._utils", "_rebuild_tensor_v3") => Ok(Global::RebuildTensorV3),
        ("torch._utils", "_rebuild_parameter") => Ok(Global::RebuildParameter),
        ("torch._utils", "_rebuild_parameter_with_state") => Ok(Global::RebuildParameterWithState),
        ("torch", "DoubleStorage") => storage(Dtype::F64),
        ("torch", "FloatStorage") => storage(Dtype::F32),
        ("torch", "HalfStorage") => storage(Dtype::F16),
        ("torch", "BFloat16Storage") => storage(Dtype::BF16),
        ("torch", "LongStorage") => storage(Dtype::I64),
        ("torch", "IntStorage") => storage(Dtype::I32),
        ("torch", "ShortStorage") => storage(Dtype::I16),
        ("torch", "CharStorage") => storage(Dtype::I8),
        ("torch", "ByteStorage") => storage(Dtype::U8),
        ("torch", "BoolStorage") => storage(Dtype::Bool),
        ("torch", "UntypedStorage") | ("torch.storage", "UntypedStorage") => {
            Ok(Global::Storage(None))
        }
        ("torch", "float64" | "double") => dtype(Dtype::F64),
        ("torch", "float32" | "float") => dtype(Dtype::F32),
        ("torch", "float16" | "half") => dtype(Dtype::F16),
        ("torch", "bfloat16") => dtype(Dtype::BF16),
        ("torch", "int64" | "long") => dtype(Dtype::I64),
        ("torch", "int32" | "int") => dtype(Dtype::I32),
        ("torch", "int16" | "short") => dtype(Dtype::I16),
        ("torch", "int8") => dtype(Dtype::I8),
        ("torch", "uint8") => dtype(Dtype::U8),
        ("torch", "bool") => dtype(Dtype::Bool),
        ("torch", "uint16") => dtype(Dtype::U16),
        ("torch", "uint32") => dtype(Dtype::U32),
        ("torch", "uint64") => dtype(Dtype::U64),
        _ => Err(format!(
            "refuses the global {module}.{name}: krust never runs code from a weights file and \
             only accepts torch's tensor/storage rebuild functions, dtypes and \
             collections.OrderedDict"
        )),
    }
}

fn opcode_name(op: u8) -> &'static str {
    match op {
        b'(' => "MARK",
        b'.' => "STOP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'F' => "FLOAT",
        b'I' => "INT",
        b'J' => "BININT",
        b'K' => "BININT1",
        b'L' => "LONG",
        b'M' => "BININT2",
        b'N' => "NONE",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b'R' => "REDUCE",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'V' => "UNICODE",
        b'X' => "BINUNICODE",
        b'a' => "APPEND",
        b'b' => "BUILD",
        b'c' => "GLOBAL",
        b'd' => "DICT",
        b'}' => "EMPTY_DICT",
        b'e' => "APPENDS",
        b'g' => "GET",
        b'h' => "BINGET",
        b'i' => "INST",
        b'j' => "LONG_BINGET",
        b'l' => "LIST",
        b']' => "EMPTY_LIST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b'q' => "BINPUT",
        b'r' => "LONG_BINPUT",
        b's' => "SETITEM",
        b't' => "TUPLE",
        b')' => "EMPTY_TUPLE",
        b'u' => "SETITEMS",
        b'G' => "BINFLOAT",
        0x80 => "PROTO",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x85 => "TUPLE1",
        0x86 => "TUPLE2",
        0x87 => "TUPLE3",
        0x88 => "NEWTRUE",
        0x89 => "NEWFALSE",
        0x8a => "LONG1",
        0x8b => "LONG4",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        0x8c => "SHORT_BINUNICODE",
        0x8d => "BINUNICODE8",
        0x8e => "BINBYTES8",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x93 => "STACK_GLOBAL",
        0x94 => "MEMOIZE",
        0x95 => "FRAME",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "unknown",
    }
}

struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    values: Vec<Value>,
    stack: Vec<Id>,
    marks: Vec<usize>,
    memo: HashMap<u64, Id>,
}

/// Reads one pickle from the start of `bytes`; `what` names it in errors ("data.pkl").
pub(crate) fn parse(bytes: &[u8], what: &str) -> Result<Pickle, String> {
    let mut m = Machine {
        bytes,
        pos: 0,
        values: vec![Value::None, Value::Bool(false), Value::Bool(true)],
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    };
    loop {
        let at = m.pos;
        let Some(&op) = bytes.get(at) else {
            return Err(format!(
                "{what} is truncated: it ends at byte {at} without a STOP opcode"
            ));
        };
        m.pos += 1;
        let step = m.step(op).map_err(|why| {
            format!(
                "{what} byte {at}: opcode {} (0x{op:02x}): {why}",
                opcode_name(op)
            )
        })?;
        if step {
            let root = m
                .stack
                .pop()
                .ok_or_else(|| format!("{what} byte {at}: STOP with an empty stack"))?;
            return Ok(Pickle {
                values: m.values,
                root,
                consumed: m.pos,
            });
        }
    }
}

impl Machine<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| {
                format!(
                    "needs {n} bytes but only {} are left (truncated or corrupt)",
                    self.bytes.len() - self.pos
                )
            })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<usize, String> {
        Ok(self.fixed::<1>()?[0] as usize)
    }

    fn u32(&mut self) -> Result<usize, String> {
        Ok(u32::from_le_bytes(self.fixed()?) as usize)
    }

    fn u64_len(&mut self) -> Result<usize, String> {
        let n = u64::from_le_bytes(self.fixed()?);
        usize::try_from(n).map_err(|_| format!("length {n} is absurd"))
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.bytes[self.pos..];
        let end = rest
            .iter()
            .take(MAX_LINE)
            .position(|&b| b == b'\n')
            .ok_or("its text argument has no newline within 1024 bytes")?;
        let text = String::from_utf8(rest[..end].to_vec())
            .map_err(|_| "its text argument is not UTF-8".to_string())?;
        self.pos += end + 1;
        Ok(text)
    }

    fn push(&mut self, value: Value) -> Result<(), String> {
        if self.stack.len() >= MAX_STACK {
            return Err(format!("the stack exceeds {MAX_STACK} entries"));
        }
        self.values.push(value);
        self.stack.push(self.values.len() - 1);
        Ok(())
    }

    fn push_id(&mut self, id: Id) -> Result<(), String> {
        if self.stack.len() >= MAX_STACK {
            return Err(format!("the stack exceeds {MAX_STACK} entries"));
        }
        self.stack.push(id);
        Ok(())
    }

    fn pop(&mut self) -> Result<Id, String> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err("pops an empty stack".into());
        }
        self.stack.pop().ok_or_else(|| "pops an empty stack".into())
    }

    fn top(&self) -> Result<Id, String> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err("needs a value but the stack is empty".into());
        }
        self.stack
            .last()
            .copied()
            .ok_or_else(|| "needs a value but the stack is empty".into())
    }

    fn pop_mark(&mut self) -> Result<Vec<Id>, String> {
        let mark = self.marks.pop().ok_or("no MARK to pop to")?;
        Ok(self.stack.split_off(mark))
    }

    fn memo_put(&mut self, key: u64) -> Result<(), String> {
        let id = self.top()?;
        self.memo.insert(key, id);
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> Result<(), String> {
        let id = *self
            .memo
            .get(&key)
            .ok_or_else(|| format!("memo entry {key} was never stored"))?;
        self.push_id(id)
    }

    fn text(&mut self, n: usize) -> Result<String, String> {
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| "string is not valid UTF-8".into())
    }

    fn int(&mut self, n: usize) -> Result<(), String> {
        if n > MAX_INT_BYTES {
            return Err(format!("a {n}-byte integer is too large"));
        }
        let bytes = self.take(n)?;
        // Little-endian two's complement, sign-extended from the last byte.
        let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
        let mut buf = [if negative { 0xff } else { 0 }; 16];
        buf[..n].copy_from_slice(bytes);
        self.push(Value::Int(i128::from_le_bytes(buf)))
    }

    fn value(&self, id: Id) -> &Value {
        &self.values[id]
    }

    /// Runs one opcode; `Ok(true)` at STOP.
    fn step(&mut self, op: u8) -> Result<bool, String> {
        match op {
            0x80 => {
                let proto = self.u8()?;
                if proto > 5 {
                    return Err(format!("unknown pickle protocol {proto}"));
                }
            }
            0x95 => {
                // FRAME only announces the next frame's length: the bytes follow inline.
                self.take(8)?;
            }
            b'.' => return Ok(true),
            b'(' => {
                if self.marks.len() >= MAX_MARK_DEPTH {
                    return Err(format!("nested deeper than {MAX_MARK_DEPTH} levels"));
                }
                self.marks.push(self.stack.len());
            }
            b'0' => {
                self.pop()?;
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let id = self.top()?;
                self.push_id(id)?;
            }
            // Python's singletons: pushing them allocates nothing.
            b'N' => self.push_id(NONE)?,
            0x88 => self.push_id(TRUE)?,
            0x89 => self.push_id(FALSE)?,
            b'J' => {
                let v = i32::from_le_bytes(self.fixed()?);
                self.push(Value::Int(v.into()))?
            }
            b'K' => {
                let v = self.u8()?;
                self.push(Value::Int(v as i128))?
            }
            b'M' => {
                let v = u16::from_le_bytes(self.fixed()?);
                self.push(Value::Int(v.into()))?
            }
            0x8a => {
                let n = self.u8()?;
                self.int(n)?
            }
            0x8b => {
                let n = i32::from_le_bytes(self.fixed()?);
                let n = usize::try_from(n).map_err(|_| format!("negative length {n}"))?;
                self.int(n)?
            }
            b'I' => {
                let line = self.line()?;
                let value = match line.as_str() {
                    "00" => return self.push_id(FALSE).map(|_| false),
                    "01" => return self.push_id(TRUE).map(|_| false),
                    text => Value::Int(
                        text.parse()
                            .map_err(|_| format!("{text:?} is not an integer"))?,
                    ),
                };
                self.push(value)?
            }
            b'G' => {
                let v = f64::from_be_bytes(self.fixed()?);
                self.push(Value::Float(v))?
            }
            b'F' => {
                let line = self.line()?;
                let v = line
                    .parse()
                    .map_err(|_| format!("{line:?} is not a float"))?;
                self.push(Value::Float(v))?
            }
            b'X' => {
                let n = self.u32()?;
                let s = self.text(n)?;
                self.push(Value::Str(s))?
            }
            0x8c => {
                let n = self.u8()?;
                let s = self.text(n)?;
                self.push(Value::Str(s))?
            }
            0x8d => {
                let n = self.u64_len()?;
                let s = self.text(n)?;
                self.push(Value::Str(s))?
            }
            // Python 2 byte strings; Python 3 decodes them as ASCII/latin-1 text.
            b'T' | b'U' => {
                let n = if op == b'T' { self.u32()? } else { self.u8()? };
                let s = self.take(n)?.iter().map(|&b| b as char).collect();
                self.push(Value::Str(s))?
            }
            b'B' | b'C' | 0x8e | 0x96 => {
                let n = match op {
                    b'B' => self.u32()?,
                    b'C' => self.u8()?,
                    _ => self.u64_len()?,
                };
                self.take(n)?;
                self.push(Value::Bytes)?
            }
            b']' => self.push(Value::List(Vec::new()))?,
            b')' => self.push(Value::Tuple(Vec::new()))?,
            b'}' => self.push(Value::Dict(Vec::new()))?,
            0x8f => self.push(Value::Set(Vec::new()))?,
            b'l' => {
                let items = self.pop_mark()?;
                self.push(Value::List(items))?
            }
            b't' => {
                let items = self.pop_mark()?;
                self.push(Value::Tuple(items))?
            }
            0x91 => {
                let items = self.pop_mark()?;
                self.push(Value::Set(items))?
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.pop()?);
                }
                items.reverse();
                self.push(Value::Tuple(items))?
            }
            b'd' => {
                let items = self.pop_mark()?;
                let pairs = pairs(&items)?;
                self.push(Value::Dict(pairs))?
            }
            b'a' => {
                let item = self.pop()?;
                let list = self.top()?;
                self.extend(list, vec![item])?
            }
            b'e' | 0x90 => {
                let items = self.pop_mark()?;
                let list = self.top()?;
                self.extend(list, items)?
            }
            b's' => {
                let value = self.pop()?;
                let key = self.pop()?;
                let dict = self.top()?;
                self.set_items(dict, vec![(key, value)])?
            }
            b'u' => {
                let items = self.pop_mark()?;
                let dict = self.top()?;
                let pairs = pairs(&items)?;
                self.set_items(dict, pairs)?
            }
            b'q' => {
                let key = self.u8()?;
                self.memo_put(key as u64)?
            }
            b'r' => {
                let key = self.u32()?;
                self.memo_put(key as u64)?
            }
            b'p' => {
                let line = self.line()?;
                let key = line
                    .parse()
                    .map_err(|_| format!("{line:?} is not a memo index"))?;
                self.memo_put(key)?
            }
            0x94 => {
                let key = self.memo.len() as u64;
                self.memo_put(key)?
            }
            b'h' => {
                let key = self.u8()?;
                self.memo_get(key as u64)?
            }
            b'j' => {
                let key = self.u32()?;
                self.memo_get(key as u64)?
            }
            b'g' => {
                let line = self.line()?;
                let key = line
                    .parse()
                    .map_err(|_| format!("{line:?} is not a memo index"))?;
                self.memo_get(key)?
            }
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                let g = global(&module, &name)?;
                self.push(Value::Global(g))?
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                match (self.value(module), self.value(name)) {
                    (Value::Str(module), Value::Str(name)) => {
                        let g = global(module, name)?;
                        self.push(Value::Global(g))?
                    }
                    _ => return Err("module and name must be strings".into()),
                }
            }
            b'Q' => {
                let pid = self.pop()?;
                let storage = self.persistent(pid)?;
                self.push(Value::Storage(Box::new(storage)))?
            }
            b'R' => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let value = self.reduce(callable, args)?;
                self.push(value)?
            }
            0x81 => {
                let args = self.pop()?;
                let class = self.pop()?;
                match (self.value(class), self.value(args)) {
                    (Value::Global(Global::OrderedDict), Value::Tuple(a)) if a.is_empty() => {
                        self.push(Value::Dict(Vec::new()))?
                    }
                    _ => return Err("only collections.OrderedDict() may be created".into()),
                }
            }
            b'b' => {
                // An OrderedDict's attributes (a state dict's `_metadata`) arrive as BUILD
                // state; krust has no use for them.
                let _state = self.pop()?;
                let target = self.top()?;
                if !matches!(self.value(target), Value::Dict(_) | Value::Tensor(_)) {
                    return Err(format!(
                        "cannot set state on a {}",
                        kind(self.value(target))
                    ));
                }
            }
            _ => {
                return Err(match op {
                    b'i' | b'o' | 0x92 => "instantiates classes, which krust refuses".into(),
                    0x82..=0x84 => {
                        "uses the copyreg extension registry, which krust refuses".into()
                    }
                    0x97 | 0x98 => "uses out-of-band buffers, which torch.save never writes".into(),
                    b'P' | b'S' | b'V' | b'L' => {
                        "is a protocol-0 opcode that torch.save never writes".into()
                    }
                    _ => "is not a pickle opcode krust knows".into(),
                })
            }
        }
        Ok(false)
    }

    fn extend(&mut self, target: Id, items: Vec<Id>) -> Result<(), String> {
        match &mut self.values[target] {
            Value::List(list) | Value::Set(list) => {
                list.extend(items);
                Ok(())
            }
            other => Err(format!("cannot append to a {}", kind(other))),
        }
    }

    fn set_items(&mut self, target: Id, items: Vec<(Id, Id)>) -> Result<(), String> {
        match &mut self.values[target] {
            Value::Dict(dict) => {
                dict.extend(items);
                Ok(())
            }
            other => Err(format!("cannot set items on a {}", kind(other))),
        }
    }

    fn persistent(&self, pid: Id) -> Result<StorageRef, String> {
        let Value::Tuple(items) = self.value(pid) else {
            return Err(format!(
                "persistent id is a {}, expected a ('storage', ...) tuple",
                kind(self.value(pid))
            ));
        };
        let items: Vec<&Value> = items.iter().map(|&i| self.value(i)).collect();
        match items.first() {
            Some(Value::Str(s)) if s == "storage" => {}
            Some(Value::Str(s)) => {
                return Err(format!(
                    "persistent id {s:?} (only storages; a whole pickled module is refused)"
                ))
            }
            _ => return Err("persistent id does not start with 'storage'".into()),
        }
        if items.len() != 5 && items.len() != 6 {
            return Err(format!(
                "storage persistent id has {} fields, expected 5 or 6",
                items.len()
            ));
        }
        let Value::Global(Global::Storage(dtype)) = items[1] else {
            return Err(format!(
                "storage type is a {}, expected torch.<Type>Storage",
                kind(items[1])
            ));
        };
        let key = match items[2] {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            other => return Err(format!("storage key is a {}", kind(other))),
        };
        let numel = non_negative(items[4], "storage size")?;
        let mut view_offset = 0;
        if let Some(view) = items.get(5) {
            match view {
                Value::None => {}
                Value::Tuple(v) if v.len() == 3 => {
                    view_offset = non_negative(self.value(v[1]), "storage view offset")?;
                }
                other => return Err(format!("storage view is a {}", kind(other))),
            }
        }
        Ok(StorageRef {
            key,
            dtype: *dtype,
            numel,
            view_offset,
        })
    }

    fn reduce(&self, callable: Id, args: Id) -> Result<Value, String> {
        let Value::Global(g) = self.value(callable) else {
            return Err(format!(
                "calls a {}, not an allowed global",
                kind(self.value(callable))
            ));
        };
        let Value::Tuple(args) = self.value(args) else {
            return Err("arguments are not a tuple".into());
        };
        let arg = |i: usize| self.value(args[i]);
        let count = |ok: &[usize], name: &str| -> Result<(), String> {
            if ok.contains(&args.len()) {
                Ok(())
            } else {
                Err(format!(
                    "{name} called with {} arguments, expected {ok:?}",
                    args.len()
                ))
            }
        };
        match g {
            Global::OrderedDict => {
                count(&[0, 1], "OrderedDict")?;
                let mut pairs = Vec::new();
                if let Some(&items) = args.first() {
                    let Value::List(items) = self.value(items) else {
                        return Err("OrderedDict argument is not a list of pairs".into());
                    };
                    for &item in items {
                        match self.value(item) {
                            Value::Tuple(kv) if kv.len() == 2 => pairs.push((kv[0], kv[1])),
                            _ => return Err("OrderedDict item is not a (key, value) pair".into()),
                        }
                    }
                }
                Ok(Value::Dict(pairs))
            }
            Global::RebuildTensor | Global::RebuildTensorV2 | Global::RebuildTensorV3 => {
                let name = match *g {
                    Global::RebuildTensor => "_rebuild_tensor",
                    Global::RebuildTensorV2 => "_rebuild_tensor_v2",
                    _ => "_rebuild_tensor_v3",
                };
                let (expected, metadata_at): (&[usize], usize) = match *g {
                    Global::RebuildTensor => (&[4], usize::MAX),
                    Global::RebuildTensorV2 => (&[6, 7], 6),
                    _ => (&[7, 8], 7),
                };
                count(expected, name)?;
                let Value::Storage(storage) = arg(0) else {
                    return Err(format!("{name}: first argument is a {}", kind(arg(0))));
                };
                let dtype = if *g == Global::RebuildTensorV3 {
                    match arg(6) {
                        Value::Global(Global::Dtype(d)) => *d,
                        other => return Err(format!("{name}: dtype is a {}", kind(other))),
                    }
                } else {
                    storage.dtype.ok_or_else(|| {
                        format!("{name}: an untyped storage gives the tensor no dtype")
                    })?
                };
                if let Some(Value::Dict(items)) = args.get(metadata_at).map(|&i| self.value(i)) {
                    // Only the conj/neg view bits live here; a set bit changes the values.
                    for &(k, v) in items {
                        if matches!(self.value(v), Value::Bool(true)) {
                            return Err(format!(
                                "{name}: tensor metadata {} is set, which krust does not apply",
                                self.describe_value(k)
                            ));
                        }
                    }
                }
                let offset =
                    non_negative(arg(1), "storage offset").map_err(|e| format!("{name}: {e}"))?;
                let shape = self
                    .dims(arg(2), "tensor size")
                    .map_err(|e| format!("{name}: {e}"))?;
                let stride = self
                    .dims(arg(3), "tensor stride")
                    .map_err(|e| format!("{name}: {e}"))?;
                if shape.len() != stride.len() {
                    return Err(format!(
                        "{name}: size has {} dimensions but stride has {}",
                        shape.len(),
                        stride.len()
                    ));
                }
                Ok(Value::Tensor(Box::new(TensorRef {
                    storage: (**storage).clone(),
                    dtype,
                    offset: usize::try_from(offset)
                        .map_err(|_| format!("storage offset {offset} is absurd"))?,
                    shape,
                    stride,
                })))
            }
            Global::RebuildParameter | Global::RebuildParameterWithState => {
                let expected: &[usize] = if *g == Global::RebuildParameter {
                    &[3]
                } else {
                    &[4]
                };
                count(expected, "_rebuild_parameter")?;
                match arg(0) {
                    Value::Tensor(t) => Ok(Value::Tensor(t.clone())),
                    other => Err(format!("_rebuild_parameter: data is a {}", kind(other))),
                }
            }
            Global::Storage(_) | Global::Dtype(_) => {
                Err("calls a storage type or dtype, which torch.save never does".into())
            }
        }
    }

    fn describe_value(&self, id: Id) -> String {
        match self.value(id) {
            Value::Str(s) => s.clone(),
            other => format!("<{}>", kind(other)),
        }
    }

    fn dims(&self, value: &Value, what: &str) -> Result<Vec<usize>, String> {
        let (Value::Tuple(items) | Value::List(items)) = value else {
            return Err(format!("{what} is a {}, not a tuple", kind(value)));
        };
        items
            .iter()
            .map(|&i| {
                let v = non_negative(self.value(i), what)?;
                usize::try_from(v).map_err(|_| format!("{what} {v} is absurd"))
            })
            .collect()
    }
}

fn pairs(items: &[Id]) -> Result<Vec<(Id, Id)>, String> {
    if !items.len().is_multiple_of(2) {
        return Err("an odd number of items for key/value pairs".into());
    }
    Ok(items.chunks_exact(2).map(|kv| (kv[0], kv[1])).collect())
}

fn non_negative(value: &Value, what: &str) -> Result<u64, String> {
    match value {
        Value::Int(i) if *i < 0 => Err(format!("{what} {i} is negative")),
        Value::Int(i) => u64::try_from(*i).map_err(|_| format!("{what} {i} is absurd")),
        other => Err(format!("{what} is a {}, not an integer", kind(other))),
    }
}
