//! `.npy` save and load of whole distributed containers: one NumPy file, written collectively.
//!
//! [`save`] writes the header on rank 0 and lets every rank write its block of rows at its
//! offset of a temporary file that rank 0 renames to the destination once every part is
//! written (containers that are not block-partitioned are redistributed to block first, one
//! all-to-all). [`load`] reads the header on every rank and each rank reads the rows it owns
//! under block, then redistributes to the requested partition. Both are collective and return
//! the same result on every rank: when one rank fails, every rank returns an error (R0012).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};

use crate::comm::{CommExt, CommRef};
use crate::container::{Distributed, Options};
use crate::elem::{DType, Element, ReduceOp, as_bytes, as_bytes_mut};
use crate::error::{DtlError, Result, Site};
use crate::partition::Partition;

const MAGIC: &[u8] = b"\x93NUMPY";

fn io_err(path: &str, e: impl std::fmt::Display) -> DtlError {
    DtlError::Io {
        path: path.to_string(),
        detail: e.to_string(),
    }
}

/// The `.npy` v1.0 header for `dtype` and `shape`, padded to a multiple of 64 bytes.
pub fn header(dtype: DType, shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_s = if shape.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        dtype.npy_descr(),
        shape_s
    );
    let unpadded = MAGIC.len() + 2 + 2 + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut out = Vec::with_capacity(unpadded.next_multiple_of(64));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// A parsed `.npy` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub descr: String,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
    /// Bytes before the data.
    pub data_offset: usize,
}

/// Parses the header at the start of `f`.
pub fn read_header(f: &mut impl Read, path: &str) -> Result<Header> {
    let mut pre = [0u8; 8];
    f.read_exact(&mut pre)
        .map_err(|e| io_err(path, format!("not a .npy file: {e}")))?;
    if &pre[..6] != MAGIC {
        return Err(io_err(path, "not a .npy file (bad magic)"));
    }
    let (len, pre_len) = match pre[6] {
        1 => {
            let mut b = [0u8; 2];
            f.read_exact(&mut b).map_err(|e| io_err(path, e))?;
            (u16::from_le_bytes(b) as usize, 10)
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            f.read_exact(&mut b).map_err(|e| io_err(path, e))?;
            (u32::from_le_bytes(b) as usize, 12)
        }
        v => return Err(io_err(path, format!("unsupported .npy version {v}"))),
    };
    if len > 1 << 20 {
        return Err(io_err(path, "header too long"));
    }
    let mut h = vec![0u8; len];
    f.read_exact(&mut h).map_err(|e| io_err(path, e))?;
    let text = String::from_utf8_lossy(&h).into_owned();
    let field = |name: &str| -> Result<&str> {
        let key = format!("'{name}'");
        let at = text
            .find(&key)
            .ok_or_else(|| io_err(path, format!("header lacks {key}")))?;
        let rest = text[at + key.len()..].trim_start();
        rest.strip_prefix(':')
            .map(str::trim_start)
            .ok_or_else(|| io_err(path, "malformed header"))
    };
    let d = field("descr")?;
    let descr = d
        .strip_prefix('\'')
        .and_then(|s| s.split('\'').next())
        .ok_or_else(|| io_err(path, "malformed descr"))?
        .to_string();
    let fortran_order = field("fortran_order")?.starts_with("True");
    let s = field("shape")?;
    let inner = s
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| io_err(path, "malformed shape"))?;
    let mut shape = Vec::new();
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let v: usize = part
            .trim_end_matches('L')
            .parse()
            .map_err(|_| io_err(path, format!("bad dimension {part}")))?;
        shape.push(v);
    }
    Ok(Header {
        descr,
        fortran_order,
        shape,
        data_offset: pre_len + len,
    })
}

fn descr_matches(descr: &str, dtype: DType) -> bool {
    let want = dtype.npy_descr();
    if descr == want {
        return true;
    }
    // Byte order marks are irrelevant for one-byte types; '=' is native (little endian here).
    let (a, b) = (descr.get(1..), want.get(1..));
    a == b && (dtype.size() == 1 || descr.starts_with('=') || descr.starts_with('<'))
}

/// Collective agreement on a per-rank outcome: every rank gets `Ok` only if every rank did.
/// A rank that succeeded while another failed gets R0011 naming the lowest failing rank, so
/// the run reports that rank's own error (its cause) rather than this echo.
fn agree<X>(comm: &CommRef, path: &str, r: Result<X>) -> Result<X> {
    let me = if r.is_err() {
        comm.rank() as u64
    } else {
        u64::MAX
    };
    // The others may stop the run as soon as they have the result (R0011 naming this rank):
    // then this rank's own error, the cause, is the one to report.
    let first = match comm.allreduce_scalar(me, ReduceOp::Min) {
        Ok(f) => f,
        Err(e) => return Err(r.err().unwrap_or(e)),
    };
    match r {
        Err(e) => Err(e),
        Ok(_) if first != u64::MAX => Err(DtlError::PeerFailed {
            rank: first as usize,
            cause: format!("it could not access {path}"),
        }),
        Ok(x) => Ok(x),
    }
}

/// The temporary file [`save`] writes before renaming it to `path`: a hidden name in the
/// same directory (so the rename stays on one file system), unique per `nonce`.
fn temp_path(path: &str, nonce: u64) -> std::path::PathBuf {
    let p = std::path::Path::new(path);
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "save".into());
    let tmp = format!(".{name}.dtl-tmp-{nonce:016x}");
    match p.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(tmp),
        _ => std::path::PathBuf::from(tmp),
    }
}

/// A number that differs between concurrent saves: process id and clock.
fn save_nonce() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (u64::from(std::process::id()) << 40) ^ t
}

/// Collective: writes the whole container to `path` as one `.npy` file (shape = the
/// container's shape, C order).
///
/// Atomic: every rank writes its part into a temporary file next to `path`
/// (`.NAME.dtl-tmp-…`), and rank 0 renames it to `path` only once every rank has written and
/// synced its part. When any rank fails (before or during the save), the temporary file is
/// removed and an existing file at `path` is left as it was.
#[track_caller]
pub fn save<T: Element>(c: &Distributed<T>, path: &str) -> Result<()> {
    if cfg!(target_endian = "big") {
        return Err(DtlError::unsupported(".npy on big-endian machines"));
    }
    let block;
    let c = match c.partition() {
        Partition::Block | Partition::Replicated => c,
        _ => {
            block = c.redistribute(Partition::Block)?;
            &block
        }
    };
    let comm = c.comm();
    let me = comm.rank();
    // Rank 0 names the temporary file; this broadcast is also where a rank that already failed
    // stops the save before any file is touched.
    let nonce = comm.broadcast_scalar(if me == 0 { save_nonce() } else { 0 }, 0)?;
    let tmp = temp_path(path, nonce);
    let head = header(T::DTYPE, c.shape());
    let total = head.len() as u64 + (c.global_len() * T::DTYPE.size()) as u64;
    let created = if me == 0 {
        (|| -> std::io::Result<()> {
            let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            f.write_all(&head)?;
            f.set_len(total)?;
            Ok(())
        })()
        .map_err(|e| io_err(path, format!("cannot create {}: {e}", tmp.display())))
    } else {
        Ok(())
    };
    let made_it = me == 0 && created.is_ok();
    let out = (|| -> Result<()> {
        agree(comm, path, created)?;
        let (offset, data): (usize, &[T]) = match c.partition() {
            Partition::Replicated => (0, if me == 0 { c.local() } else { &[] }),
            _ => (c.local_offset()?, c.local()),
        };
        let wrote = if data.is_empty() {
            Ok(())
        } else {
            (|| -> std::io::Result<()> {
                let mut f = OpenOptions::new().write(true).open(&tmp)?;
                f.seek(SeekFrom::Start(
                    head.len() as u64 + (offset * T::DTYPE.size()) as u64,
                ))?;
                f.write_all(as_bytes(data))?;
                f.sync_data()
            })()
            .map_err(|e| io_err(path, e))
        };
        agree(comm, path, wrote)?;
        let renamed = if me == 0 {
            std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
        } else {
            Ok(())
        };
        if me == 0 && renamed.is_ok() {
            // Best effort: make the rename itself durable.
            if let Some(dir) = std::path::Path::new(path).parent() {
                let dir = if dir.as_os_str().is_empty() {
                    std::path::Path::new(".")
                } else {
                    dir
                };
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
                }
            }
        }
        agree(comm, path, renamed)
    })();
    if out.is_err() && made_it {
        // Nothing was renamed (or the rename failed): the old file stays, the partial one goes.
        let _ = std::fs::remove_file(&tmp);
    }
    out
}

/// Collective: reads a `.npy` file written by [`save`] or NumPy (C order, little endian, the
/// dtype of `T`) into a container with the given partition.
#[track_caller]
pub fn load<T: Element>(
    comm: &CommRef,
    path: &str,
    partition: Partition,
) -> Result<Distributed<T>> {
    load_at(comm, path, partition, None, Site::caller())
}

/// [`load`] of a file that must hold an array of `ndim` dimensions (R0012 otherwise, before
/// anything is allocated): `load<T>` in a dtl program gives a vector, so a 2-D file is an
/// error there, not a vector with a hidden second dimension.
#[track_caller]
pub fn load_ndim<T: Element>(
    comm: &CommRef,
    path: &str,
    partition: Partition,
    ndim: usize,
) -> Result<Distributed<T>> {
    load_at(comm, path, partition, Some(ndim), Site::caller())
}

fn load_at<T: Element>(
    comm: &CommRef,
    path: &str,
    partition: Partition,
    ndim: Option<usize>,
    site: Site,
) -> Result<Distributed<T>> {
    if cfg!(target_endian = "big") {
        return Err(DtlError::unsupported(".npy on big-endian machines"));
    }
    let opened = (|| -> Result<(File, Header)> {
        let mut f = File::open(path).map_err(|e| io_err(path, e))?;
        let h = read_header(&mut f, path)?;
        if !descr_matches(&h.descr, T::DTYPE) {
            return Err(io_err(
                path,
                format!("holds dtype {}, not {}", h.descr, T::DTYPE.npy_descr()),
            ));
        }
        if h.fortran_order && h.shape.len() > 1 {
            return Err(io_err(path, "Fortran-order arrays are not supported"));
        }
        if h.shape.is_empty() {
            return Err(io_err(path, "0-d arrays are not containers"));
        }
        if let Some(want) = ndim
            && h.shape.len() != want
        {
            let dims: Vec<String> = h.shape.iter().map(|d| d.to_string()).collect();
            return Err(io_err(
                path,
                format!(
                    "holds a {}-d array of shape ({}), but a {want}-d container was asked for{}",
                    h.shape.len(),
                    dims.join(", "),
                    if want == 1 {
                        " (`load<T>` gives a vector: save a flattened array, e.g. NumPy's `a.ravel()`)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        // A truncated file (or a header that promises more than the file holds) is an error
        // before anything is allocated for it.
        let want = h
            .shape
            .iter()
            .try_fold(T::DTYPE.size() as u64, |a, &d| a.checked_mul(d as u64))
            .and_then(|b| b.checked_add(h.data_offset as u64));
        let have = f.metadata().map_err(|e| io_err(path, e))?.len();
        match want {
            Some(w) if w <= have => {}
            _ => {
                return Err(io_err(
                    path,
                    format!(
                        "file too short: its header describes {} bytes of data, the file holds {}",
                        want.map_or_else(
                            || "more than 2^64".to_string(),
                            |w| (w - h.data_offset as u64).to_string()
                        ),
                        have.saturating_sub(h.data_offset as u64)
                    ),
                ));
            }
        }
        Ok((f, h))
    })();
    let (mut f, h) = agree(comm, path, opened)?;
    let mut c = Distributed::new_at(comm, &h.shape, Options::new(), site)?;
    let off = c.local_offset()? * T::DTYPE.size();
    let nbytes = c.local_len() * T::DTYPE.size();
    let read = (|| -> Result<()> {
        let mut buf = vec![0u8; nbytes];
        f.seek(SeekFrom::Start((h.data_offset + off) as u64))
            .map_err(|e| io_err(path, e))?;
        f.read_exact(&mut buf)
            .map_err(|e| io_err(path, format!("file too short: {e}")))?;
        if T::DTYPE == DType::Bool && buf.iter().any(|&b| b > 1) {
            return Err(io_err(path, "bool data holds bytes other than 0 and 1"));
        }
        as_bytes_mut(c.local_mut()).copy_from_slice(&buf);
        Ok(())
    })();
    agree(comm, path, read)?;
    if partition == Partition::Block {
        c.fence_at(site)?;
        Ok(c)
    } else {
        c.redistribute(partition)
    }
}
