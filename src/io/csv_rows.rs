//! CSV contact rows, read in blocks and held in one buffer per chunk.
//!
//! Why not the `csv` crate's record reader for every row: a warm 10M-row CSV
//! scrub spent ~15% of its CPU in its per-byte state machine, and another
//! ~20% joining the fields it had split back into output lines. Here a block
//! of input is classified 64 bytes at a time (commas, LFs, quotes, CRs, as bit
//! masks; the span inside quotes as a prefix XOR of the quote bits), fields
//! are slices of the block as read, and a row goes out as the bytes it came
//! in when that is how CSV output would write its fields anyway.
//!
//! The splitter takes rows whose quoted fields are the plain kind
//! (`"US,GA"`, `"say ""hi"""`: quotes around the whole field, doubled inside).
//! Lines end with LF or CRLF. From the first row holding another CR, a line
//! break inside quotes or a quote anywhere else, a chunk is read by the
//! `csv` crate instead, so those keep
//! exactly the crate's meaning. Both skip empty lines and allow rows of any
//! length, as the crate (`flexible`) does; a test holds them to the crate's
//! answers on inputs cut at every size.

use std::io::Read;

/// The rows of a chunk: every field's bytes in `bytes`, each field's span,
/// where each row's fields start — a few growing vectors per chunk instead
/// of allocations per row.
#[derive(Debug, Default)]
pub struct CsvRows {
    bytes: Vec<u8>,
    /// Start and end of each field in `bytes`.
    starts: Vec<usize>,
    ends: Vec<usize>,
    /// Row r's fields are `rows[r]..rows[r + 1]`.
    rows: Vec<usize>,
    /// Row r as read (without its line end) when that is also how CSV output
    /// writes its fields; empty for chunks the `csv` crate read.
    lines: Vec<Option<(usize, usize)>>,
    /// Every byte of the fields is ASCII (set when the chunk is complete):
    /// each field is then valid UTF-8 without checking it on its own.
    ascii: bool,
    /// No field holds a byte CSV output must quote (`,` `"` CR LF): fields
    /// are then written as they are, without a scan each.
    pub plain: bool,
}

impl CsvRows {
    fn new(bytes: Vec<u8>, rows: usize) -> CsvRows {
        let mut r = CsvRows {
            bytes,
            starts: Vec::with_capacity(rows * 12),
            ends: Vec::with_capacity(rows * 12),
            rows: Vec::with_capacity(rows + 1),
            lines: Vec::new(),
            ascii: false,
            plain: false,
        };
        r.rows.push(0);
        r
    }

    /// Appends a record the `csv` crate read (its fields unescaped, back to back).
    fn push_record(&mut self, rec: &csv::ByteRecord) {
        let mut end = self.bytes.len();
        self.bytes.extend_from_slice(rec.as_slice());
        for f in rec.iter() {
            self.starts.push(end);
            end += f.len();
            self.ends.push(end);
        }
        self.rows.push(self.ends.len());
    }

    pub fn len(&self) -> usize {
        self.rows.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn row(&self, r: usize) -> CsvRow<'_> {
        let (a, b) = (self.rows[r], self.rows[r + 1]);
        CsvRow {
            bytes: &self.bytes,
            starts: &self.starts[a..b],
            ends: &self.ends[a..b],
            line: self.lines.get(r).copied().flatten(),
        }
    }

    /// Whether every field is ASCII.
    pub fn ascii(&self) -> bool {
        self.ascii
    }

    /// Rows from `lines`, each one record as the `csv` crate reads it (tests).
    #[cfg(test)]
    pub fn from_lines(lines: &[&[u8]]) -> CsvRows {
        let mut rows = CsvRows::new(Vec::new(), lines.len());
        for l in lines {
            let mut rdr = csv::ReaderBuilder::new().has_headers(false).from_reader(*l);
            let mut rec = csv::ByteRecord::new();
            assert!(rdr.read_byte_record(&mut rec).unwrap());
            rows.push_record(&rec);
        }
        (rows.ascii, rows.plain) = scan_bytes(&rows.bytes);
        rows
    }
}

/// One row of [`CsvRows`].
#[derive(Clone, Copy)]
pub struct CsvRow<'a> {
    bytes: &'a [u8],
    starts: &'a [usize],
    ends: &'a [usize],
    line: Option<(usize, usize)>,
}

impl<'a> CsvRow<'a> {
    /// Fields in the row.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, k: usize) -> Option<&'a [u8]> {
        Some(&self.bytes[*self.starts.get(k)?..self.ends[k]])
    }

    pub fn iter(self) -> impl Iterator<Item = &'a [u8]> {
        (0..self.len()).map(move |k| self.get(k).expect("in range"))
    }

    /// The row as it was read, without its line end, when those are the
    /// bytes CSV output writes for its fields (see [`Splitter::field`]).
    pub fn raw(&self) -> Option<&'a [u8]> {
        self.line.map(|(a, b)| &self.bytes[a..b])
    }
}

/// (every byte is ASCII, no byte is one CSV output quotes), in one pass over
/// fixed 64-byte blocks that the compiler vectorises (3× faster here than
/// `is_ascii` plus `any`).
pub fn scan_bytes(bytes: &[u8]) -> (bool, bool) {
    let special = |x: u8| ((x == b',') | (x == b'"') | (x == b'\r') | (x == b'\n')) as u8;
    let (mut high, mut odd) = (0u8, 0u8);
    let mut blocks = bytes.chunks_exact(64);
    for block in &mut blocks {
        let block: &[u8; 64] = block.try_into().expect("64 bytes");
        let (mut h, mut o) = (0u8, 0u8);
        for &x in block {
            h |= x;
            o |= special(x);
        }
        high |= h;
        odd |= o;
        if high >= 0x80 && odd != 0 {
            return (false, false);
        }
    }
    for &x in blocks.remainder() {
        high |= x;
        odd |= special(x);
    }
    (high < 0x80, odd == 0)
}

/// Bit i of each mask describes byte i of a 64-byte block.
#[derive(Debug, PartialEq, Eq)]
struct Masks {
    comma: u64,
    newline: u64,
    quote: u64,
    cr: u64,
    /// Bytes of 0x80 and above.
    high: u64,
}

fn masks_scalar(block: &[u8]) -> Masks {
    let mut m = Masks { comma: 0, newline: 0, quote: 0, cr: 0, high: 0 };
    for (i, &x) in block.iter().enumerate().take(64) {
        let bit = 1u64 << i;
        m.comma |= if x == b',' { bit } else { 0 };
        m.newline |= if x == b'\n' { bit } else { 0 };
        m.quote |= if x == b'"' { bit } else { 0 };
        m.cr |= if x == b'\r' { bit } else { 0 };
        m.high |= if x >= 0x80 { bit } else { 0 };
    }
    m
}

/// The masks of a full 64-byte block, 16 bytes per SSE2 compare (SSE2 is
/// part of every x86-64).
#[cfg(target_arch = "x86_64")]
fn masks64(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is always available on x86-64; the loads are unaligned
    // loads of 16 bytes inside the 64-byte array.
    unsafe {
        let (comma, nl, quote, cr) = (
            _mm_set1_epi8(b',' as i8),
            _mm_set1_epi8(b'\n' as i8),
            _mm_set1_epi8(b'"' as i8),
            _mm_set1_epi8(b'\r' as i8),
        );
        let mut m = Masks { comma: 0, newline: 0, quote: 0, cr: 0, high: 0 };
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
            let bits = |x: __m128i| (_mm_movemask_epi8(x) as u16 as u64) << (16 * k);
            m.comma |= bits(_mm_cmpeq_epi8(v, comma));
            m.newline |= bits(_mm_cmpeq_epi8(v, nl));
            m.quote |= bits(_mm_cmpeq_epi8(v, quote));
            m.cr |= bits(_mm_cmpeq_epi8(v, cr));
            m.high |= bits(v);
        }
        m
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn masks64(block: &[u8; 64]) -> Masks {
    masks_scalar(block)
}

/// Bit i set when an odd number of bits 0..=i of `x` are: with `x` the quote
/// bits, the bytes inside quotes (and each opening quote).
fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

/// Bits below bit `n` (`n` ≤ 64).
fn below(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Why [`split_fast`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// `max_rows` rows are in.
    Full,
    /// The data ran out inside a row and more may come.
    NeedMore,
    /// The row starting at the returned offset is one for the `csv` crate.
    Special,
    /// All the data (the end of the input) is in.
    End,
}

/// The state of [`split_fast`] inside the row being split.
struct Splitter {
    row_start: usize,
    /// `rows.ends.len()` when the row started.
    row_fields: usize,
    field_start: usize,
    /// The field being split holds a quote.
    field_quoted: bool,
    /// The row's bytes are how CSV output writes its fields.
    canonical: bool,
    /// Fields of the row to unescape once it is complete: (field index, span).
    unescape: Vec<(usize, usize, usize)>,
}

impl Splitter {
    fn new(at: usize, rows: &CsvRows) -> Splitter {
        Splitter {
            row_start: at,
            row_fields: rows.ends.len(),
            field_start: at,
            field_quoted: false,
            canonical: true,
            unescape: Vec::new(),
        }
    }

    fn start_row(&mut self, at: usize, rows: &CsvRows) {
        self.row_start = at;
        self.row_fields = rows.ends.len();
        self.field_start = at;
        self.field_quoted = false;
        self.canonical = true;
        self.unescape.clear();
    }

    /// Takes the field ending at `pos`; `false` when it is not one the
    /// splitter reads (quotes elsewhere than around the whole field, or an
    /// odd quote inside).
    fn field(&mut self, data: &[u8], pos: usize, rows: &mut CsvRows) -> bool {
        let (from, quoted) = (self.field_start, self.field_quoted);
        self.field_start = pos + 1;
        self.field_quoted = false;
        if !quoted {
            rows.starts.push(from);
            rows.ends.push(pos);
            return true;
        }
        let f = &data[from..pos];
        if f.len() < 2 || f[0] != b'"' || f[f.len() - 1] != b'"' {
            return false;
        }
        let inner = &data[from + 1..pos - 1];
        let mut quotes = 0usize;
        let mut i = 0;
        while i < inner.len() {
            if inner[i] == b'"' {
                if inner.get(i + 1) != Some(&b'"') {
                    return false;
                }
                quotes += 1;
                i += 2;
            } else {
                i += 1;
            }
        }
        rows.starts.push(from + 1);
        rows.ends.push(pos - 1);
        if quotes > 0 {
            // Unescaped in place once the row is complete (a row taken back
            // is split again from its bytes as read); the row's bytes then
            // change, so it is written field by field.
            self.unescape.push((rows.ends.len() - 1, from + 1, pos - 1));
            self.canonical = false;
        } else if !inner.contains(&b',') {
            // CSV output writes `"abc"` as `abc`.
            self.canonical = false;
        }
        true
    }

    /// Completes the row whose last field ended at `pos`.
    fn end_row(&mut self, data: &mut [u8], pos: usize, rows: &mut CsvRows) {
        for &(k, from, to) in &self.unescape {
            let mut w = from;
            let mut r = from;
            while r < to {
                data[w] = data[r];
                r += if data[r] == b'"' { 2 } else { 1 };
                w += 1;
            }
            rows.ends[k] = w;
        }
        rows.rows.push(rows.ends.len());
        rows.lines.push(self.canonical.then_some((self.row_start, pos)));
    }

    fn take_back(&self, rows: &mut CsvRows) {
        rows.starts.truncate(self.row_fields);
        rows.ends.truncate(self.row_fields);
    }
}

/// Splits the rows of `data` from `at` (a row boundary, outside quotes) into
/// `rows` (offsets into `data`), until `max_rows` rows are in, the data ends,
/// or a row is one for the `csv` crate. Returns where the first row not taken
/// starts, and why it stopped; a partly split row is taken back.
fn split_fast(data: &mut [u8], at: usize, eof: bool, max_rows: usize, rows: &mut CsvRows) -> (usize, Stop) {
    let mut sp = Splitter::new(at, rows);
    if rows.len() >= max_rows {
        return (at, Stop::Full);
    }
    // All ones while the block starts inside quotes.
    let mut inside = 0u64;
    let mut p = at;
    while p < data.len() {
        let mut m = match data[p..].first_chunk::<64>() {
            Some(block) => masks64(block),
            None => masks_scalar(&data[p..]),
        };
        let ins = prefix_xor(m.quote) ^ inside;
        inside = if ins >> 63 == 1 { u64::MAX } else { 0 };
        // A CR followed by an LF ends a line with it (the LF is the cut).
        let lf_next = (m.newline >> 1) | (u64::from(data.get(p + 64) == Some(&b'\n')) << 63);
        let crlf = m.cr & lf_next & !ins;
        let mut lone_cr = m.cr & !crlf;
        if !eof && data.len() - p <= 64 && data.last() == Some(&b'\r') {
            // The LF of a CR that ends the data may not be read yet.
            lone_cr &= !(1u64 << (data.len() - 1 - p));
        }
        // The first other CR, or CR or LF inside quotes: the rows from there are the crate's.
        let odd = lone_cr | (m.newline & ins);
        let stop = odd != 0;
        if stop {
            let keep = below(odd.trailing_zeros());
            m.comma &= keep;
            m.newline &= keep;
            m.quote &= keep;
            m.high &= keep;
        }
        rows.ascii &= m.high == 0;
        let mut cuts = (m.comma | m.newline) & !ins;
        let mut seen = 0u32;
        while cuts != 0 {
            let b = cuts.trailing_zeros();
            cuts &= cuts - 1;
            let pos = p + b as usize;
            sp.field_quoted |= m.quote & below(b) & !below(seen) != 0;
            seen = b + 1;
            let newline = m.newline >> b & 1 == 1;
            // Where the field ends: before the CR of a CRLF.
            // (A CR just before a cut LF is outside quotes, and not odd.)
            let end = if newline && pos > sp.row_start && data[pos - 1] == b'\r' { pos - 1 } else { pos };
            if newline && end == sp.row_start {
                // An empty line: skipped, as the csv crate skips it.
                sp.start_row(pos + 1, rows);
                continue;
            }
            if !sp.field(data, end, rows) {
                sp.take_back(rows);
                return (sp.row_start, Stop::Special);
            }
            if newline {
                sp.end_row(data, end, rows);
                sp.start_row(pos + 1, rows);
                if rows.len() == max_rows {
                    return (pos + 1, Stop::Full);
                }
            }
        }
        sp.field_quoted |= m.quote & !below(seen) != 0;
        if stop {
            sp.take_back(rows);
            return (sp.row_start, Stop::Special);
        }
        p += 64;
    }
    if !eof {
        sp.take_back(rows);
        return (sp.row_start, Stop::NeedMore);
    }
    let end = data.len();
    if sp.row_start < end {
        if inside != 0 || !sp.field(data, end, rows) {
            sp.take_back(rows);
            return (sp.row_start, Stop::Special);
        }
        sp.end_row(data, end, rows);
    }
    (end, Stop::End)
}

/// Reads up to `max_rows` records of `data` with the `csv` crate (unescaped
/// layout). Returns the rows and the bytes they took. Unless `eof`, a record
/// that reaches the end of `data` may be cut short: it is left for the next
/// call, with more data.
fn split_quoted(data: &[u8], eof: bool, max_rows: usize) -> Result<(CsvRows, usize), csv::Error> {
    let mut rows =
        CsvRows::new(Vec::with_capacity(data.len().min(max_rows.saturating_mul(160))), max_rows.min(1 << 16));
    let mut rdr = csv::ReaderBuilder::new().flexible(true).has_headers(false).from_reader(data);
    let mut rec = csv::ByteRecord::new();
    let mut used = 0;
    while rows.len() < max_rows {
        if !rdr.read_byte_record(&mut rec)? {
            used = data.len();
            break;
        }
        let end = rdr.position().byte() as usize;
        if end >= data.len() && !eof {
            break;
        }
        rows.push_record(&rec);
        used = end;
    }
    (rows.ascii, rows.plain) = scan_bytes(&rows.bytes);
    Ok((rows, used))
}

/// A CSV input read in chunks of rows (see the module docs).
pub struct CsvBlocks {
    src: Box<dyn Read + Send>,
    /// Input read but not yet handed out; starts at a row boundary.
    carry: Vec<u8>,
    eof: bool,
    /// Input bytes handed out (the header included).
    used: u64,
    /// Bytes per row seen so far, to size the next read.
    row_bytes: usize,
    /// The least a read asks for (small only in tests, to cut rows at every byte).
    step: usize,
}

impl CsvBlocks {
    pub fn new(src: Box<dyn Read + Send>) -> CsvBlocks {
        CsvBlocks::with_step(src, 1 << 16)
    }

    fn with_step(src: Box<dyn Read + Send>, step: usize) -> CsvBlocks {
        CsvBlocks { src, carry: Vec::new(), eof: false, used: 0, row_bytes: 128, step }
    }

    /// Input bytes taken so far (for progress).
    pub fn position(&self) -> u64 {
        self.used
    }

    /// Appends up to `n` more input bytes to `data` (fewer only at the end).
    fn read_more(&mut self, data: &mut Vec<u8>, n: usize) -> std::io::Result<()> {
        let target = data.len() + n;
        data.reserve(n);
        while data.len() < target && !self.eof {
            let got = (&mut self.src).take((target - data.len()) as u64).read_to_end(data)?;
            if got == 0 {
                self.eof = true;
            }
        }
        Ok(())
    }

    /// The first record's fields (the header), or `None` for an empty input.
    pub fn header(&mut self) -> Result<Option<Vec<Vec<u8>>>, csv::Error> {
        let data = std::mem::take(&mut self.carry);
        let rows = self.next_quoted(data, 1)?;
        Ok((!rows.is_empty()).then(|| rows.row(0).iter().map(<[u8]>::to_vec).collect()))
    }

    /// Reads records with the `csv` crate from `data` (the input not handed
    /// out yet; the carry is taken) until `max_rows` are in or the input ends.
    fn next_quoted(&mut self, mut data: Vec<u8>, max_rows: usize) -> Result<CsvRows, csv::Error> {
        loop {
            let (rows, used) = split_quoted(&data, self.eof, max_rows)?;
            if !rows.is_empty() || self.eof {
                self.carry = data[used..].to_vec();
                self.used += used as u64;
                return Ok(rows);
            }
            let more = data.len().max(self.step);
            self.read_more(&mut data, more)?;
        }
    }

    /// The next chunk of at most `max_rows` rows; `None` at the end of the input.
    pub fn next_chunk(&mut self, max_rows: usize) -> Result<Option<CsvRows>, csv::Error> {
        let mut data = std::mem::take(&mut self.carry);
        let want = max_rows.saturating_mul(self.row_bytes + self.row_bytes / 16).clamp(self.step.min(4096), 256 << 20);
        if data.len() < want {
            let n = want - data.len();
            self.read_more(&mut data, n)?;
        }
        let mut rows = CsvRows::new(Vec::new(), max_rows.min(1 << 16));
        rows.lines.reserve(max_rows.min(1 << 16));
        rows.ascii = true;
        let mut at = 0;
        let stop = loop {
            let (next, stop) = split_fast(&mut data, at, self.eof, max_rows, &mut rows);
            at = next;
            if stop != Stop::NeedMore {
                break stop;
            }
            let more = (data.len() / 8).max(self.step);
            self.read_more(&mut data, more)?;
        };
        if stop == Stop::Special && rows.is_empty() {
            let rows = self.next_quoted(data, max_rows)?;
            return Ok((!rows.is_empty()).then_some(rows));
        }
        if !rows.is_empty() {
            self.row_bytes = (at / rows.len()).max(1);
        }
        self.carry = data[at..].to_vec();
        self.used += at as u64;
        if rows.is_empty() {
            return Ok(None);
        }
        data.truncate(at);
        rows.bytes = data;
        // Quoted fields may hold commas and quotes.
        rows.plain = false;
        Ok(Some(rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_keep_every_field_byte_for_byte() {
        let text = "a,b,c\n1,,\"x,\"\"y\"\"\"\n,2\n\"\",3,4,5\n";
        let mut rdr = csv::ReaderBuilder::new().flexible(true).has_headers(false).from_reader(text.as_bytes());
        let mut rows = CsvRows::new(Vec::new(), 2);
        let mut rec = csv::ByteRecord::new();
        let mut want: Vec<Vec<Vec<u8>>> = Vec::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            rows.push_record(&rec);
            want.push(rec.iter().map(<[u8]>::to_vec).collect());
        }
        assert_eq!(rows.len(), 4);
        for (r, fields) in want.iter().enumerate() {
            let row = rows.row(r);
            assert_eq!(row.len(), fields.len());
            assert_eq!(row.iter().map(<[u8]>::to_vec).collect::<Vec<_>>(), *fields);
            assert_eq!(row.get(fields.len()), None);
            assert_eq!(row.raw(), None);
        }
        assert_eq!(rows.row(1).get(2), Some(&b"x,\"y\""[..]));
        assert_eq!(rows.row(3).get(0), Some(&b""[..]));
    }

    #[test]
    fn byte_scan_agrees_with_a_plain_check_at_every_position() {
        let naive = |b: &[u8]| (b.is_ascii(), !b.iter().any(|&x| matches!(x, b',' | b'"' | b'\r' | b'\n')));
        let base = vec![b'a'; 200];
        assert_eq!(scan_bytes(&base), (true, true));
        assert_eq!(scan_bytes(b""), (true, true));
        for pos in [0, 1, 63, 64, 65, 127, 128, 199] {
            for odd in [b',', b'"', b'\r', b'\n', 0x80, 0xC3, 0xFF, b'\t', 0] {
                let mut b = base.clone();
                b[pos] = odd;
                assert_eq!(scan_bytes(&b), naive(&b), "byte {odd:#x} at {pos}");
                // Both kinds in one buffer, the second far past the first block.
                b[199 - pos / 2] = if odd >= 0x80 { b',' } else { 0xE2 };
                assert_eq!(scan_bytes(&b), naive(&b), "pair at {pos}");
            }
        }
    }

    #[test]
    fn block_masks_agree_with_the_byte_loop() {
        let mut block = [b'a'; 64];
        for (i, b) in block.iter_mut().enumerate() {
            *b = [b',', b'\n', b'"', b'\r', 0x80, 0xFF, b'x', 0, b' ', 0x7F, 0xC3][(i * 7 + i / 5) % 11];
        }
        assert_eq!(masks64(&block), masks_scalar(&block));
        let m = masks64(&block);
        for (i, &b) in block.iter().enumerate() {
            assert_eq!(m.comma >> i & 1 == 1, b == b',', "byte {i}");
            assert_eq!(m.quote >> i & 1 == 1, b == b'"', "byte {i}");
            assert_eq!(m.high >> i & 1 == 1, b >= 0x80, "byte {i}");
        }
    }

    /// Rows as lists of fields.
    type Fields = Vec<Vec<Vec<u8>>>;

    /// Every row of `text` as the block reader gives it, with `max_rows` per
    /// chunk and input arriving (and asked for) `piece` bytes per read; each
    /// row's raw bytes, if any (checked to be its output line); the position.
    fn read_blocks(text: &[u8], max_rows: usize, piece: usize) -> (Fields, Vec<Option<Vec<u8>>>, u64) {
        struct Trickle(Vec<u8>, usize, usize);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(self.2).min(self.0.len() - self.1);
                buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let mut blocks = CsvBlocks::with_step(Box::new(Trickle(text.to_vec(), 0, piece)), piece);
        let (mut all, mut raws) = (Vec::new(), Vec::new());
        while let Some(rows) = blocks.next_chunk(max_rows).unwrap() {
            assert!(rows.len() <= max_rows && !rows.is_empty());
            for r in 0..rows.len() {
                let row = rows.row(r);
                let fields: Vec<Vec<u8>> = row.iter().map(<[u8]>::to_vec).collect();
                if rows.ascii {
                    assert!(fields.iter().all(|f| f.is_ascii()), "ascii flag on non-ASCII fields");
                }
                if let Some(raw) = row.raw() {
                    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
                    w.write_record(&fields).unwrap();
                    let line = w.into_inner().unwrap();
                    assert_eq!(raw, &line[..line.len() - 1], "raw row is the output line");
                }
                raws.push(row.raw().map(<[u8]>::to_vec));
                all.push(fields);
            }
        }
        (all, raws, blocks.position())
    }

    fn crate_rows(text: &[u8]) -> Fields {
        let mut rdr = csv::ReaderBuilder::new().flexible(true).has_headers(false).from_reader(text);
        let mut rec = csv::ByteRecord::new();
        let mut want = Vec::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            want.push(rec.iter().map(<[u8]>::to_vec).collect());
        }
        want
    }

    #[test]
    fn block_reader_reads_what_the_csv_crate_reads() {
        // Plain rows long enough to span 64-byte blocks, then every kind of
        // row the block splitter hands over, then plain rows again.
        let long = "x".repeat(70);
        let plain: String = (0..40)
            .map(|i| format!("{i},2125550{i:03},{},acct-{i},\n", if i % 3 == 0 { &long } else { "Voice" }))
            .collect();
        // Rows as `scrub gen` writes them, a quoted geocode list in each (some
        // longer than a 64-byte block).
        let quoted: String = (0..40)
            .map(|i| {
                format!(
                    "R{i},Voice,2125550{i:03},\"US,{}\",{}\n",
                    ["GA", &long][i % 2],
                    if i % 3 == 0 { &long } else { "" }
                )
            })
            .collect();
        let cases: Vec<String> = vec![
            plain.clone(),
            format!("{plain}last,row,without,newline"),
            format!("\n\n{plain}\n\n,\n\n"),
            format!("{plain}q,\"a,b\",\"say \"\"hi\"\"\"\n{plain}"),
            format!("{plain}nl,\"two\nlines\",x\n{plain}"),
            // Quoted rows longer than a read, so reads end inside their quotes.
            format!("{plain}q,\"{long},{long}\",\"say \"\"hi\"\" {long}\"\n{plain}"),
            format!("{plain}nl,\"{long}\n{long}\n\",x\r\n{long}\n"),
            format!("{plain}crlf,a\r\ncrlf,b\r\n{plain}"),
            plain.replace('\n', "\r\n"),
            // CRs at the end of a 64-byte block, their LFs in the next.
            format!("{},y\r\n", "x".repeat(61)).repeat(5),
            quoted.replace('\n', "\r\n"),
            format!("\r\n\r\n{}x,\"in\r\nquotes\"\r\n", quoted.replace('\n', "\r\n")),
            format!("{plain}cr,alone\rnext,row\n{plain}"),
            format!("{plain}\"open quote at the end"),
            format!("caf\u{e9},na\u{ef}ve\n{plain}\u{1F4DE},\u{e9}\n"),
            format!("{plain}a,b,c,d,e,f,g,h\n1\n,\n,,\n"),
            String::new(),
            "\n".into(),
            "one".into(),
            // Quoted fields the splitter reads itself, cut by reads at every byte.
            quoted.clone(),
            format!("{quoted}\"say \"\"hi\"\" {long}\",\"\"\"\"\"\",\"\",\"plain\",x\n{quoted}"),
            format!("{quoted}\"{long}\",\"a,\"\"b\"\"\"\n\"last\",\"no,newline\""),
            // Quotes the splitter leaves to the crate.
            format!("{quoted}ab\"c,d\n{quoted}"),
            format!("{quoted}\"a\"b,c\n{quoted}"),
            format!("{quoted}\"a\"\"\"b\",c\n{quoted}"),
            format!("{quoted}x,\"unclosed\n{quoted}"),
            format!("{quoted}x,\"unclosed at the end"),
        ];
        for text in &cases {
            let want = crate_rows(text.as_bytes());
            for max_rows in [1, 2, 3, 7, 1000] {
                for piece in [1, 5, 63, 64, 65, 4096] {
                    let (got, raws, pos) = read_blocks(text.as_bytes(), max_rows, piece);
                    assert_eq!(got, want, "max_rows {max_rows}, piece {piece}, text {text:?}");
                    assert_eq!(pos, text.len() as u64, "position at the end");
                    let lf = text.replace("\r\n", "\n");
                    if !lf.contains(['"', '\r']) || lf == quoted {
                        assert!(raws.iter().all(Option::is_some), "such input is split as raw rows");
                    }
                }
            }
        }
    }

    #[test]
    fn header_is_the_first_record_and_data_follow_it() {
        for text in ["a,b\nx,y\n", "\"a\",\"b,c\"\r\nx,y\n", "a,b\r\nx,y\r\n"] {
            let mut blocks = CsvBlocks::new(Box::new(std::io::Cursor::new(text.as_bytes().to_vec())));
            let head = blocks.header().unwrap().unwrap();
            let want = crate_rows(text.as_bytes());
            assert_eq!(head, want[0]);
            let rows = blocks.next_chunk(10).unwrap().unwrap();
            assert_eq!(rows.row(0).iter().map(<[u8]>::to_vec).collect::<Vec<_>>(), want[1]);
            assert!(blocks.next_chunk(10).unwrap().is_none());
        }
        let mut empty = CsvBlocks::new(Box::new(std::io::empty()));
        assert!(empty.header().unwrap().is_none());
    }
}
