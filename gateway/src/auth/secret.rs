//! The token signing secret: from the configuration, or generated once and kept in the data
//! directory so that tokens stay valid across restarts.

use std::io::Write;
use std::path::Path;

use rand::RngCore;

const FILE: &str = "jwt_secret";

/// The configured secret, or the one stored in `data_dir` (created at first start, readable by
/// the owner only).
pub fn load_or_create_secret(configured: &str, data_dir: &Path) -> std::io::Result<Vec<u8>> {
    if !configured.is_empty() {
        return Ok(configured.as_bytes().to_vec());
    }
    let path = data_dir.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => hex::decode(text.trim()).map_err(|error| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {error}", path.display()),
            )
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = vec![0u8; 64];
            rand::rng().fill_bytes(&mut secret);
            std::fs::create_dir_all(data_dir)?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&path)?;
            file.write_all(hex::encode(&secret).as_bytes())?;
            file.sync_all()?;
            Ok(secret)
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_is_kept_and_a_configured_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_secret("", dir.path()).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(load_or_create_secret("", dir.path()).unwrap(), first);
        assert_eq!(
            load_or_create_secret("configured", dir.path()).unwrap(),
            b"configured"
        );
    }
}
