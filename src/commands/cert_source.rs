//! Reading a sealing certificate from a file, a `file://` URL or an `http(s)://` URL, as kubeseal's
//! `--cert` accepts (SEALED-SECRETS.md §4.6). HTTP goes through reqwest (rustls, honouring
//! HTTP(S)_PROXY); a certificate is public, so nothing secret crosses this module.

use crate::error::{Error, Result};
use std::time::Duration;

pub fn read(source: &str) -> Result<Vec<u8>> {
    let lower = source.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return fetch(source);
    }
    let path = source.strip_prefix("file://").unwrap_or(source);
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

fn fetch(url: &str) -> Result<Vec<u8>> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Error::Usage(format!("cannot fetch {url:?}: {e}")))?;
    let resp = client
        .get(url)
        .header("Accept", "application/x-pem-file, */*")
        .send()
        .map_err(|e| Error::Usage(format!("cannot fetch {url:?}: {e}")))?;
    if !resp.status().is_success() {
        // kubeseal's wording (§4.6).
        return Err(Error::Usage(format!(
            "cannot fetch {url:?}: {}",
            resp.status()
        )));
    }
    let body = resp
        .bytes()
        .map_err(|e| Error::Usage(format!("cannot fetch {url:?}: {e}")))?;
    Ok(body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A one-shot HTTP server on loopback answering with `status` and `body`.
    fn serve_once(status: &'static str, body: Vec<u8>) -> String {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            s.write_all(head.as_bytes()).unwrap();
            s.write_all(&body).unwrap();
        });
        format!("http://{addr}/v1/cert.pem")
    }

    #[test]
    fn fetches_over_http_and_reports_status() {
        let pem = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/keys/clusters/demo.pem"
        ))
        .unwrap();
        let url = serve_once("200 OK", pem.clone());
        assert_eq!(read(&url).unwrap(), pem);
        let url = serve_once("404 Not Found", b"nope".to_vec());
        let e = read(&url).unwrap_err().to_string();
        assert!(e.contains("cannot fetch") && e.contains("404"), "{e}");
    }
}
