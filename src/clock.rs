//! Local time for log stamps, from the C library (the same source mod_jk's strftime uses).

use std::time::{SystemTime, UNIX_EPOCH};

use jk_log::BrokenDownTime;

/// Now, broken down in the process's local time zone.
pub fn now_local() -> BrokenDownTime {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r writes into our zeroed tm and reads only `secs`.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        tm
    };
    let tz_name = if tm.tm_zone.is_null() {
        String::new()
    } else {
        // SAFETY: tm_zone points to a static NUL-terminated zone abbreviation.
        unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }
            .to_string_lossy()
            .into_owned()
    };
    BrokenDownTime {
        year: tm.tm_year + 1900,
        month: (tm.tm_mon + 1) as u32,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        minute: tm.tm_min as u32,
        second: tm.tm_sec as u32,
        micros: now.subsec_micros(),
        weekday: tm.tm_wday as u32,
        yearday: tm.tm_yday as u32,
        utc_offset_secs: tm.tm_gmtoff as i32,
        tz_name,
        epoch_secs: now.as_secs() as i64,
    }
}
