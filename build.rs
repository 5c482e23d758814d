//! Compiles `proto/` into the shared contract: messages, clients, servers, and the file
//! descriptor set that server reflection serves.

use std::{env, error::Error, path::PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    // tonic-prost-build 0.14 no longer emits this itself.
    println!("cargo:rerun-if-changed=proto");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    // A vendored protoc keeps the build free of a system package; prost-build reads PROTOC.
    if env::var_os("PROTOC").is_none() {
        let protoc = protoc_bin_vendored::protoc_bin_path()?;
        // A build script is a single-threaded process of its own, so nothing races this write.
        #[allow(unsafe_code)]
        unsafe {
            env::set_var("PROTOC", protoc)
        };
    }
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("abaco_descriptor.bin"))
        .compile_protos(&["proto/abaco.proto"], &["proto"])?;
    Ok(())
}
