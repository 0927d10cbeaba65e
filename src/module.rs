//! The module record `jk_module` and httpd's directive table, generated from jk-directives'
//! table (the handlers are in [`crate::directives`]).
//!
//! The record is declared in Rust (ARCHITECTURE.md rule 2): a record declared in a cc-built C
//! file would be hidden by rustc's export list. Its name is "mod_jk.c", so both
//! `<IfModule jk_module>` and `<IfModule mod_jk.c>` match, as with Debian's module.

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::ptr;

use jk_directives::{Args, Contexts, DirectiveInfo, DIRECTIVES};

use crate::ffi;
use crate::ffi::{cmd_func, command_rec, module};

/// httpd writes into the record (module_index, next, dynamic_load_handle), so it lives in
/// writable memory behind an UnsafeCell; it is only touched by httpd's single-threaded
/// configuration phase.
#[repr(transparent)]
pub struct ModuleRecord(UnsafeCell<module>);

// SAFETY: httpd mutates the record only while loading modules (single-threaded); afterwards
// it is read-only (module_index lookups).
unsafe impl Sync for ModuleRecord {}

#[repr(transparent)]
struct CommandTable([command_rec; COMMAND_COUNT + 1]);
// SAFETY: the table is immutable static data (names, function pointers, static strings).
unsafe impl Sync for CommandTable {}

/// The module record httpd's `LoadModule jk_module …` looks up by this exact symbol name.
#[no_mangle]
#[used]
pub static jk_module: ModuleRecord = ModuleRecord(UnsafeCell::new(module {
    version: ffi::MODULE_MAGIC_NUMBER_MAJOR as i32,
    minor_version: ffi::MODULE_MAGIC_NUMBER_MINOR as i32,
    module_index: -1,
    name: c"mod_jk.c".as_ptr(),
    dynamic_load_handle: ptr::null_mut(),
    next: ptr::null_mut(),
    magic: ffi::MODULE_MAGIC_COOKIE as _,
    rewrite_args: None,
    create_dir_config: None,
    merge_dir_config: None,
    create_server_config: Some(crate::server_conf::create_server_config),
    merge_server_config: Some(crate::server_conf::merge_server_config),
    cmds: COMMANDS.0.as_ptr(),
    register_hooks: Some(crate::hooks::register_hooks),
    flags: 0,
}));

/// Pointer to our record, for the APIs that take `const module *`.
pub fn module_ptr() -> *const module {
    jk_module.0.get()
}

const S: i32 = ffi::RSRC_CONF as i32;
const SD: i32 = (ffi::RSRC_CONF | ffi::ACCESS_CONF) as i32;

const END: command_rec = command_rec {
    name: ptr::null(),
    func: cmd_func { take1: None },
    cmd_data: ptr::null_mut(),
    req_override: 0,
    args_how: 0,
    errmsg: ptr::null(),
};

/// httpd's argument kind.
const fn args_how(a: Args) -> ffi::cmd_how {
    match a {
        Args::Take1 => ffi::cmd_how_TAKE1,
        Args::Take12 => ffi::cmd_how_TAKE12,
        Args::RawArgs => ffi::cmd_how_RAW_ARGS,
        Args::Flag => ffi::cmd_how_FLAG,
    }
}

/// The command of table row `index`: name, context and help text from the row, the handler
/// for its directive. `cmd_data` is the row's index (handlers find their directive by it).
const fn command(index: usize, d: &DirectiveInfo) -> command_rec {
    let (args, func) = crate::directives::handler(d.id);
    // A handler of another argument kind would be called with the wrong signature.
    assert!(
        args as u8 == d.args as u8,
        "a directive's handler takes another argument kind than its table row says"
    );
    command_rec {
        name: d.c_name.as_ptr(),
        func,
        cmd_data: index as *mut c_void,
        req_override: match d.contexts {
            Contexts::ServerAndDirectory => SD,
            // Main-server-only directives check that in their handler (as mod_jk does).
            Contexts::Global | Contexts::Server => S,
        },
        args_how: args_how(d.args),
        errmsg: d.c_summary.as_ptr(),
    }
}

const COMMAND_COUNT: usize = DIRECTIVES.len();

/// httpd's command table, built at compile time from jk-directives' table, NULL-terminated.
static COMMANDS: CommandTable = CommandTable({
    let mut table = [END; COMMAND_COUNT + 1];
    let mut i = 0;
    while i < COMMAND_COUNT {
        table[i] = command(i, &DIRECTIVES[i]);
        i += 1;
    }
    table
});
