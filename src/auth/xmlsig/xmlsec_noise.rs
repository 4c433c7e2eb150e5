//! Silences xmlsec's error printer. By default libxmlsec1 writes a `func=xmlSec…` line to stderr for
//! every failed verification, which lets anyone posting forged responses fill the logs. The errors
//! still reach us as `Err` values through samael; here they only go to `tracing` at debug level.

use std::ffi::{CStr, c_char, c_int};
use std::sync::Once;

type Callback = unsafe extern "C" fn(
    file: *const c_char,
    line: c_int,
    func: *const c_char,
    error_object: *const c_char,
    error_subject: *const c_char,
    reason: c_int,
    msg: *const c_char,
);

#[link(name = "xmlsec1")]
unsafe extern "C" {
    fn xmlSecErrorsSetCallback(callback: Option<Callback>);
}

unsafe extern "C" fn to_tracing(
    _file: *const c_char,
    _line: c_int,
    func: *const c_char,
    _error_object: *const c_char,
    _error_subject: *const c_char,
    reason: c_int,
    _msg: *const c_char,
) {
    let func = if func.is_null() {
        "?".into()
    } else {
        // SAFETY: xmlsec passes a NUL-terminated static string (__func__) or NULL, checked above.
        unsafe { CStr::from_ptr(func) }.to_string_lossy()
    };
    tracing::debug!(target: "passerelle::xmlsig::xmlsec", %func, reason, "xmlsec error");
}

static INSTALL: Once = Once::new();

/// Installs the quiet callback once for the process, after samael's lazy xmlsec initialisation
/// (which resets the callback to the default printer): call it after samael's first use.
pub(crate) fn install() {
    INSTALL.call_once(|| {
        // SAFETY: sets a process-wide function pointer to a function with the C signature xmlsec
        // expects (errors.h `xmlSecErrorsCallback`); the function never unwinds.
        unsafe { xmlSecErrorsSetCallback(Some(to_tracing)) }
    });
}
