//! LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest common subsequence
//! of two strings, by Redis's dynamic-programming table (so ties between equally long answers
//! resolve as Redis's do). The table's transient memory is refused past `proto-max-bulk-len`.

use shoal_resp::Args;
use shoal_store::ValueRef;

use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::spec::{Group, Spec, cmd, flags::*};
use crate::util::{eq_ic, int};

const NOT_STRINGS: &str = "ERR The specified keys must contain string values";
const LEN_AND_IDX: &str = "ERR If you want both the length and indexes, please just use IDX.";
const TOO_LONG: &str = "ERR String too long for LCS";
const TABLE_TOO_BIG: &str =
    "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
const NO_MEMORY: &str = "ERR Insufficient memory, failed allocating transient memory for LCS";

/// The value at `key` as bytes (empty when missing); `Err(())` for a key of another type.
fn read_string(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Vec<u8>, ()> {
    let r = crate::util::read_value(ctx, key, |v| match v {
        ValueRef::Str(b) => Ok(b.to_vec()),
        ValueRef::Int(n) => Ok(itoa::Buffer::new().format(n).as_bytes().to_vec()),
        _ => Err(CmdError::from(errors::WRONGTYPE)),
    });
    match r {
        Ok(v) => Ok(v.unwrap_or_default()),
        Err(_) => Err(()),
    }
}

/// One matching range: (start, end) in the first string, (start, end) in the second.
type Range = ((u32, u32), (u32, u32));

fn lcs(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let a = read_string(ctx, args.get(1));
    let b = read_string(ctx, args.get(2));
    let (Ok(a), Ok(b)) = (a, b) else {
        return Err(NOT_STRINGS.into());
    };
    let (mut getlen, mut getidx, mut withmatchlen) = (false, false, false);
    let mut minmatchlen: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = args.get(j);
        let more = j + 1 < args.len();
        if eq_ic(opt, "idx") {
            getidx = true;
        } else if eq_ic(opt, "len") {
            getlen = true;
        } else if eq_ic(opt, "withmatchlen") {
            withmatchlen = true;
        } else if eq_ic(opt, "minmatchlen") && more {
            minmatchlen = int(args.get(j + 1))?.max(0);
            j += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    if getidx && getlen {
        return Err(LEN_AND_IDX.into());
    }
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return Err(TOO_LONG.into());
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    let bytes = cells.checked_mul(4).ok_or(NO_MEMORY)?;
    if bytes > ctx.shared.config.read().proto_max_bulk_len {
        return Err(TABLE_TOO_BIG.into());
    }
    if getlen {
        // The length needs two rows of the table only.
        let mut prev = vec![0u32; blen + 1];
        let mut row = vec![0u32; blen + 1];
        for &x in &a {
            for k in 1..=blen {
                row[k] = if x == b[k - 1] {
                    prev[k - 1] + 1
                } else {
                    prev[k].max(row[k - 1])
                };
            }
            std::mem::swap(&mut prev, &mut row);
        }
        ctx.out.int(prev[blen] as i64);
        return Ok(());
    }
    let mut table: Vec<u32> = Vec::new();
    if table.try_reserve_exact(cells as usize).is_err() {
        return Err(NO_MEMORY.into());
    }
    table.resize(cells as usize, 0);
    let w = blen + 1;
    for i in 1..=alen {
        for k in 1..=blen {
            table[i * w + k] = if a[i - 1] == b[k - 1] {
                table[(i - 1) * w + k - 1] + 1
            } else {
                table[(i - 1) * w + k].max(table[i * w + k - 1])
            };
        }
    }
    let total = table[alen * w + blen];
    // Walk back from the end, collecting the string and the matching ranges (last first).
    let mut result = vec![0u8; total as usize];
    let mut idx = total as usize;
    let mut ranges: Vec<Range> = Vec::new();
    let none = alen as u32;
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (none, 0u32, 0u32, 0u32);
    let (mut i, mut k) = (alen, blen);
    while i > 0 && k > 0 {
        let mut emit = false;
        if a[i - 1] == b[k - 1] {
            result[idx - 1] = a[i - 1];
            if a_start == none {
                a_start = i as u32 - 1;
                a_end = i as u32 - 1;
                b_start = k as u32 - 1;
                b_end = k as u32 - 1;
            } else if a_start == i as u32 && b_start == k as u32 {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            k -= 1;
        } else {
            if table[(i - 1) * w + k] > table[i * w + k - 1] {
                i -= 1;
            } else {
                k -= 1;
            }
            if a_start != none {
                emit = true;
            }
        }
        if emit {
            let len = a_end - a_start + 1;
            if minmatchlen == 0 || len as i64 >= minmatchlen {
                ranges.push(((a_start, a_end), (b_start, b_end)));
            }
            a_start = none;
        }
    }
    if !getidx {
        ctx.out.bulk(&result);
        return Ok(());
    }
    ctx.out.map(2);
    ctx.out.bulk(b"matches");
    ctx.out.array(ranges.len());
    for ((as_, ae), (bs, be)) in ranges {
        ctx.out.array(2 + withmatchlen as usize);
        ctx.out.array(2);
        ctx.out.int(as_ as i64);
        ctx.out.int(ae as i64);
        ctx.out.array(2);
        ctx.out.int(bs as i64);
        ctx.out.int(be as i64);
        if withmatchlen {
            ctx.out.int((ae - as_ + 1) as i64);
        }
    }
    ctx.out.bulk(b"len");
    ctx.out.int(total as i64);
    Ok(())
}

pub static COMMANDS: &[Spec] = &[cmd(
    "lcs",
    -3,
    READONLY,
    (1, 2, 1),
    Group::String,
    "7.0.0",
    "Finds the longest common substring.",
    lcs,
)];
