//! Docker test helpers: the sample images are built once per test binary.

use std::{path::PathBuf, process::Command, sync::OnceLock};

use abaco_worker::container::DockerRunner;

/// Builds the sample images (fast when they are up to date) once; panics with the script's
/// output when that fails, since no Docker test can mean anything without them.
pub fn samples() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples/build.sh");
        let output = Command::new("bash")
            .arg(&script)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} failed:\n{}{}",
                script.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    });
    if let Err(error) = built {
        panic!("sample images are needed for this test: {error}");
    }
}

/// A runner on the local engine, with the sample images in place.
pub async fn runner() -> DockerRunner {
    samples();
    DockerRunner::connect()
        .await
        .expect("a local Docker engine is needed for this test")
}
