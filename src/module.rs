//! The module record `jk_module` and the directive table.
//!
//! The record is declared in Rust (ARCHITECTURE.md rule 2): a record declared in a cc-built C
//! file would be hidden by rustc's export list. Its name is "mod_jk.c", so both
//! `<IfModule jk_module>` and `<IfModule mod_jk.c>` match, as with Debian's module.

use std::cell::UnsafeCell;
use std::ffi::{c_char, c_void};
use std::ptr;

use crate::directives as d;
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
struct CommandTable([command_rec; d::COMMAND_COUNT + 1]);
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

pub const TAKE1: ffi::cmd_how = ffi::cmd_how_TAKE1;
pub const TAKE12: ffi::cmd_how = ffi::cmd_how_TAKE12;
pub const RAW_ARGS: ffi::cmd_how = ffi::cmd_how_RAW_ARGS;
pub const FLAG: ffi::cmd_how = ffi::cmd_how_FLAG;
const S: i32 = ffi::RSRC_CONF as i32;
const SD: i32 = (ffi::RSRC_CONF | ffi::ACCESS_CONF) as i32;

type Take1 = unsafe extern "C" fn(*mut ffi::cmd_parms, *mut c_void, *const c_char) -> *const c_char;
type Take2 = unsafe extern "C" fn(
    *mut ffi::cmd_parms,
    *mut c_void,
    *const c_char,
    *const c_char,
) -> *const c_char;
type Flag = unsafe extern "C" fn(*mut ffi::cmd_parms, *mut c_void, i32) -> *const c_char;

const fn take1(
    name: &'static std::ffi::CStr,
    f: Take1,
    data: usize,
    ctx: i32,
    help: &'static std::ffi::CStr,
) -> command_rec {
    command_rec {
        name: name.as_ptr(),
        func: cmd_func { take1: Some(f) },
        cmd_data: data as *mut c_void,
        req_override: ctx,
        args_how: TAKE1,
        errmsg: help.as_ptr(),
    }
}

const fn take12(
    name: &'static std::ffi::CStr,
    f: Take2,
    ctx: i32,
    help: &'static std::ffi::CStr,
) -> command_rec {
    command_rec {
        name: name.as_ptr(),
        func: cmd_func { take2: Some(f) },
        cmd_data: ptr::null_mut(),
        req_override: ctx,
        args_how: TAKE12,
        errmsg: help.as_ptr(),
    }
}

const fn raw(
    name: &'static std::ffi::CStr,
    f: Take1,
    help: &'static std::ffi::CStr,
) -> command_rec {
    command_rec {
        name: name.as_ptr(),
        func: cmd_func { raw_args: Some(f) },
        cmd_data: ptr::null_mut(),
        req_override: S,
        args_how: RAW_ARGS,
        errmsg: help.as_ptr(),
    }
}

const fn flag(
    name: &'static std::ffi::CStr,
    f: Flag,
    help: &'static std::ffi::CStr,
) -> command_rec {
    command_rec {
        name: name.as_ptr(),
        func: cmd_func { flag: Some(f) },
        cmd_data: ptr::null_mut(),
        req_override: S,
        args_how: FLAG,
        errmsg: help.as_ptr(),
    }
}

const END: command_rec = command_rec {
    name: ptr::null(),
    func: cmd_func { take1: None },
    cmd_data: ptr::null_mut(),
    req_override: 0,
    args_how: 0,
    errmsg: ptr::null(),
};

use d::Setting as St;

static COMMANDS: CommandTable = CommandTable([
    take1(
        c"JkWorkersFile",
        d::set_global,
        St::WorkersFile as usize,
        S,
        c"The name of the workers.properties file",
    ),
    raw(
        c"JkWorkerProperty",
        d::worker_property,
        c"One workers.properties line (name=value)",
    ),
    take1(
        c"JkShmFile",
        d::set_global,
        St::ShmFile as usize,
        S,
        c"Path of the shared memory file",
    ),
    take1(
        c"JkShmSize",
        d::set_global,
        St::ShmSize as usize,
        S,
        c"Size of the shared memory file in KBytes",
    ),
    take1(
        c"JkWatchdogInterval",
        d::set_global,
        St::WatchdogInterval as usize,
        S,
        c"Seconds between maintenance runs of each child's watchdog thread (0 = none)",
    ),
    take12(
        c"JkMount",
        d::mount,
        SD,
        c"A mount point from a URI pattern to a Tomcat worker",
    ),
    take12(
        c"JkUnMount",
        d::unmount,
        SD,
        c"An exclusion from mounting for a URI pattern",
    ),
    take1(
        c"JkMountFile",
        d::set_server,
        St::MountFile as usize,
        S,
        c"The name of a uriworkermap.properties file",
    ),
    take1(
        c"JkMountFileReload",
        d::set_server,
        St::MountFileReload as usize,
        S,
        c"Seconds between reload checks of the mount file (0 = never)",
    ),
    take1(
        c"JkMountCopy",
        d::set_server,
        St::MountCopy as usize,
        S,
        c"Copy the main server's mounts into virtual hosts: On, Off or All",
    ),
    take1(
        c"JkAutoAlias",
        d::set_server,
        St::AutoAlias as usize,
        S,
        c"Directory of the web applications served statically by httpd",
    ),
    take1(
        c"JkLogFile",
        d::set_server,
        St::LogFile as usize,
        S,
        c"Path of the mod_jk log file, or |program",
    ),
    take1(
        c"JkLogLevel",
        d::set_server,
        St::LogLevel as usize,
        S,
        c"mod_jk log level: trace, debug, info, warn, error or emerg",
    ),
    take1(
        c"JkLogStampFormat",
        d::set_server,
        St::LogStampFormat as usize,
        S,
        c"strftime format of the mod_jk log time stamp (%Q ms, %q us)",
    ),
    take1(
        c"JkRequestLogFormat",
        d::set_server,
        St::RequestLogFormat as usize,
        S,
        c"Format of the mod_jk request log line",
    ),
    raw(
        c"JkOptions",
        d::options,
        c"Options: [+|-]ForwardURIProxy, ForwardDirectories, FlushPackets, ...",
    ),
    take12(
        c"JkEnvVar",
        d::env_var,
        S,
        c"An environment variable sent to Tomcat as a request attribute, with an optional default",
    ),
    take12(
        c"JkStripSession",
        d::strip_session,
        S,
        c"Strip the session id from URLs not forwarded: On|Off [identifier]",
    ),
    flag(
        c"JkExtractSSL",
        d::extract_ssl,
        c"Forward SSL information to Tomcat (default On)",
    ),
    take1(
        c"JkWorkerIndicator",
        d::set_indicator,
        St::WorkerIndicator as usize,
        S,
        c"Environment variable naming the target worker",
    ),
    take1(
        c"JkRemoteAddrIndicator",
        d::set_indicator,
        St::RemoteAddrIndicator as usize,
        S,
        c"Environment variable overriding the forwarded remote address",
    ),
    take1(
        c"JkRemotePortIndicator",
        d::set_indicator,
        St::RemotePortIndicator as usize,
        S,
        c"Environment variable overriding the forwarded remote port",
    ),
    take1(
        c"JkRemoteHostIndicator",
        d::set_indicator,
        St::RemoteHostIndicator as usize,
        S,
        c"Environment variable overriding the forwarded remote host",
    ),
    take1(
        c"JkRemoteUserIndicator",
        d::set_indicator,
        St::RemoteUserIndicator as usize,
        S,
        c"Environment variable overriding the forwarded remote user",
    ),
    take1(
        c"JkAuthTypeIndicator",
        d::set_indicator,
        St::AuthTypeIndicator as usize,
        S,
        c"Environment variable overriding the forwarded auth type",
    ),
    take1(
        c"JkLocalNameIndicator",
        d::set_indicator,
        St::LocalNameIndicator as usize,
        S,
        c"Environment variable overriding the forwarded server name",
    ),
    take1(
        c"JkLocalAddrIndicator",
        d::set_indicator,
        St::LocalAddrIndicator as usize,
        S,
        c"Environment variable overriding the forwarded local address",
    ),
    take1(
        c"JkLocalPortIndicator",
        d::set_indicator,
        St::LocalPortIndicator as usize,
        S,
        c"Environment variable overriding the forwarded server port",
    ),
    take1(
        c"JkIgnoreCLIndicator",
        d::set_indicator,
        St::IgnoreClIndicator as usize,
        S,
        c"Environment variable that makes mod_jk ignore the request Content-Length",
    ),
    take1(
        c"JkHTTPSIndicator",
        d::set_indicator,
        St::HttpsIndicator as usize,
        S,
        c"Environment variable telling that the request is SSL",
    ),
    take1(
        c"JkSSLPROTOCOLIndicator",
        d::set_indicator,
        St::SslProtocolIndicator as usize,
        S,
        c"Environment variable with the SSL protocol",
    ),
    take1(
        c"JkCERTSIndicator",
        d::set_indicator,
        St::CertsIndicator as usize,
        S,
        c"Environment variable with the SSL client certificate",
    ),
    take1(
        c"JkCIPHERIndicator",
        d::set_indicator,
        St::CipherIndicator as usize,
        S,
        c"Environment variable with the SSL cipher",
    ),
    take1(
        c"JkSESSIONIndicator",
        d::set_indicator,
        St::SessionIndicator as usize,
        S,
        c"Environment variable with the SSL session id",
    ),
    take1(
        c"JkKEYSIZEIndicator",
        d::set_indicator,
        St::KeySizeIndicator as usize,
        S,
        c"Environment variable with the SSL key size",
    ),
    take1(
        c"JkCERTCHAINPrefix",
        d::set_indicator,
        St::CertChainPrefix as usize,
        S,
        c"Prefix of the environment variables with the SSL client certificate chain",
    ),
    take1(
        c"JkRequestIdIndicator",
        d::set_indicator,
        St::RequestIdIndicator as usize,
        S,
        c"Environment variable with the request id (mod_jk 1.2.49 extension)",
    ),
    END,
]);
