//! ADC samples from a CSV file (std): file ──► **`CsvTable`** ──►
//! [`Signal::Table`] per column ──► `SimAdc` channel.
//!
//! # Format
//!
//! - One row per line, fields separated by `,` (spaces around a field are
//!   ignored; `\r\n` line ends are fine).
//! - One column per channel: column `i` feeds channel `i`. A file with one
//!   value per line is the one-column case.
//! - Values are raw ADC codes, decimal integers `0..=65535`.
//! - Blank lines and lines starting with `#` are skipped.
//! - The first non-skipped line may be a header: it is skipped if any of its
//!   fields contains a letter (`ch0,ch1`, `time_ms,temp`). Later lines with
//!   letters are errors.
//! - Every row has the same number of fields as the first.
//!
//! Row `r` is the sample for `t` in `[r · step_ms, (r + 1) · step_ms)`, and
//! the table repeats after its last row (see [`Signal::Table`]).

use std::fmt;
use std::io;
use std::path::Path;
use std::string::String;
use std::vec::Vec;

use super::Signal;

/// Columns of raw ADC codes read from CSV text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvTable {
    columns: Vec<Vec<u16>>,
}

/// Why CSV text could not be read (lines and columns count from 1).
#[derive(Debug)]
#[non_exhaustive]
pub enum CsvError {
    /// The file could not be read.
    Io(io::Error),
    /// A field is not an integer in `0..=65535`.
    Value {
        /// Line number.
        line: usize,
        /// Field number.
        column: usize,
        /// The field.
        text: String,
    },
    /// A row has a different number of fields from the first row.
    Ragged {
        /// Line number.
        line: usize,
        /// Fields in the first row.
        expected: usize,
        /// Fields in this row.
        found: usize,
    },
    /// No data rows.
    Empty,
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvError::Io(e) => write!(f, "cannot read CSV: {e}"),
            CsvError::Value { line, column, text } => {
                write!(f, "CSV line {line}, column {column}: {text:?} is not an ADC code (0..=65535)")
            }
            CsvError::Ragged { line, expected, found } => {
                write!(f, "CSV line {line}: {found} fields, the first row has {expected}")
            }
            CsvError::Empty => write!(f, "CSV has no data rows"),
        }
    }
}

impl std::error::Error for CsvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CsvError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for CsvError {
    fn from(e: io::Error) -> Self {
        CsvError::Io(e)
    }
}

impl CsvTable {
    /// Parses CSV text (format in the module docs).
    pub fn parse(text: &str) -> Result<CsvTable, CsvError> {
        let mut columns: Vec<Vec<u16>> = Vec::new();
        let mut seen_first = false;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let first = !seen_first;
            seen_first = true;
            if first && trimmed.split(',').any(|field| field.bytes().any(|b| b.is_ascii_alphabetic())) {
                continue; // the header
            }
            let fields = trimmed.split(',').count();
            if columns.is_empty() {
                columns = (0..fields).map(|_| Vec::new()).collect();
            } else if fields != columns.len() {
                return Err(CsvError::Ragged { line, expected: columns.len(), found: fields });
            }
            for ((i, field), column) in trimmed.split(',').enumerate().zip(columns.iter_mut()) {
                let field = field.trim();
                let value = field.parse::<u16>().map_err(|_| CsvError::Value {
                    line,
                    column: i + 1,
                    text: String::from(field),
                })?;
                column.push(value);
            }
        }
        if columns.is_empty() {
            return Err(CsvError::Empty);
        }
        Ok(CsvTable { columns })
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<CsvTable, CsvError> {
        CsvTable::parse(&std::fs::read_to_string(path)?)
    }

    /// Number of columns (channels).
    pub fn columns(&self) -> usize {
        self.columns.len()
    }

    /// Number of data rows.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    /// Column `index` (channel `index`'s samples).
    pub fn column(&self, index: usize) -> Option<&[u16]> {
        self.columns.get(index).map(Vec::as_slice)
    }

    /// Column `index` as a signal holding each row for `step_ms`.
    pub fn signal(&self, index: usize, step_ms: u32) -> Option<Signal<'_>> {
        self.column(index).map(|samples| Signal::Table { samples, step_ms })
    }

    /// Every column as a signal, in order: the `signals` of a `SimAdc`.
    pub fn signals(&self, step_ms: u32) -> Vec<Signal<'_>> {
        self.columns.iter().map(|samples| Signal::Table { samples, step_ms }).collect()
    }
}
