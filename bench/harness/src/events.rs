//! Benchmark events: compact JSON whose `serde_json::Value` round trip gives the same bytes.
//!
//! serde_json (without `preserve_order`) writes object keys sorted and compact, and writes
//! integers, `true` and plain ASCII strings unchanged. Events made only of those, with keys
//! already sorted, therefore come back byte for byte from a parse-and-serialize echo, so every
//! response can be compared with the event exactly.

/// A JSON object of exactly `size` bytes: records `{"active":..,"id":..,"name":..,"tags":[..]}`
/// under `items` (at most 64 KiB of them), then a `pad` string that brings the length to `size`.
///
/// Large events are mostly one string, like the base64 bodies that make real events large:
/// a 5 MiB event of small objects would measure musl's allocator, not the runtime.
pub fn json_event(size: usize) -> Vec<u8> {
    const RECORDS_MAX: usize = 64 * 1024;
    const OPEN: &str = "{\"items\":[";
    const PAD_OPEN: &str = "],\"pad\":\"";
    const CLOSE: &str = "\"}";
    let fixed = OPEN.len() + PAD_OPEN.len() + CLOSE.len();
    assert!(size >= fixed, "events are at least {fixed} bytes");
    let mut records = String::new();
    for id in 0.. {
        let record = format!(
            "{}{{\"active\":{},\"id\":{id},\"name\":\"user-{id}\",\"tags\":[\"alpha\",\"beta-{}\"]}}",
            if id == 0 { "" } else { "," },
            id % 3 == 0,
            id % 97
        );
        if fixed + records.len() + record.len() > size.min(RECORDS_MAX) {
            break;
        }
        records.push_str(&record);
    }
    let pad = size - fixed - records.len();
    let mut event = String::with_capacity(size);
    event.push_str(OPEN);
    event.push_str(&records);
    event.push_str(PAD_OPEN);
    event.extend(std::iter::repeat_n('x', pad));
    event.push_str(CLOSE);
    assert_eq!(event.len(), size);
    event.into_bytes()
}

/// Checks the property the byte-for-byte verification relies on.
pub fn round_trips_unchanged(event: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(event)
        .and_then(|value| serde_json::to_vec(&value))
        .is_ok_and(|again| again == event)
}
