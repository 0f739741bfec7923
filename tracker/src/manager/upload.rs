//! Uploads: the multipart field `file` streams to `<data>/uploads/*.part` while it is
//! hashed, on a blocking thread fed through a small bounded channel — memory stays a few
//! chunks whatever the file size, and neither disk nor SHA-1 runs on the event loop. When
//! the stream ends the file moves to `<data>/files/<info_hash>/<name>` and is registered.
//!
//! Options come in the query string (`?name=&piece_length=`) or as text fields `name` and
//! `piece_length` placed before `file`. Without a piece length, it is chosen from the
//! request's Content-Length (the file size plus a little multipart framing).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Multipart;
use rand::RngCore;
use tokio::sync::mpsc;

use super::api::{RegisterOptions, Registered};
use super::build::{piece_length_for, Hashed, PieceHasher};
use super::error::ApiError;
use super::register::{build, checked_name, checked_piece_length, store};
use crate::state::AppState;

/// Chunks in flight between the request and the writer thread.
const CHANNEL_CHUNKS: usize = 8;

/// A broken-off upload, or one over the size limit (`413`).
fn upload_error(error: axum::extract::multipart::MultipartError) -> ApiError {
    if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(error.body_text())
    } else {
        ApiError::Upload(error.body_text())
    }
}

/// Deletes a partial upload unless disarmed.
struct PartFile(Option<PathBuf>);

impl Drop for PartFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// Receives an upload and registers it.
pub(crate) async fn upload(
    state: &Arc<AppState>,
    mut multipart: Multipart,
    mut options: RegisterOptions,
    size_hint: Option<u64>,
) -> Result<Registered, ApiError> {
    let bad = upload_error;
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "name" => options.name = Some(field.text().await.map_err(bad)?),
            "piece_length" => {
                let text = field.text().await.map_err(bad)?;
                let value = text.trim().parse().map_err(|_| {
                    ApiError::BadRequest(format!("piece_length {text:?} is not a number"))
                })?;
                options.piece_length = Some(value);
            }
            "file" => {
                let name = options
                    .name
                    .clone()
                    .or_else(|| field.file_name().map(base_name))
                    .ok_or_else(|| {
                        ApiError::BadRequest("the upload has no file name: add ?name=".into())
                    })?;
                let name = checked_name(&name)?;
                let piece_length = match options.piece_length {
                    Some(length) => checked_piece_length(length)?,
                    None => piece_length_for(size_hint.unwrap_or(0)),
                };
                return receive(state, &mut field, name, piece_length).await;
            }
            _ => {}
        }
    }
    Err(ApiError::BadRequest(
        "multipart body without a `file` field".into(),
    ))
}

/// The last component of a client-supplied file name (browsers may send full paths).
fn base_name(raw: &str) -> String {
    raw.rsplit(['/', '\\']).next().unwrap_or(raw).to_string()
}

async fn receive(
    state: &Arc<AppState>,
    field: &mut axum::extract::multipart::Field<'_>,
    name: String,
    piece_length: u64,
) -> Result<Registered, ApiError> {
    fs::create_dir_all(&state.uploads_dir).map_err(ApiError::internal)?;
    let mut tag = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut tag);
    let part_path = state.uploads_dir.join(format!("{}.part", hex::encode(tag)));
    let part = PartFile(Some(part_path.clone()));

    let (sender, receiver) = mpsc::channel::<Bytes>(CHANNEL_CHUNKS);
    let writer_path = part_path.clone();
    let writer =
        tokio::task::spawn_blocking(move || write_and_hash(&writer_path, receiver, piece_length));
    let mut stream_error = None;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if sender.send(chunk).await.is_err() {
                    break; // the writer failed; its error is reported below
                }
            }
            Ok(None) => break,
            Err(err) => {
                stream_error = Some(upload_error(err));
                break;
            }
        }
    }
    drop(sender);
    let written = writer.await.map_err(ApiError::internal)?;
    if let Some(err) = stream_error {
        return Err(err);
    }
    let hashed = written.map_err(ApiError::internal)?;

    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || finish(&state, part, &name, &hashed))
        .await
        .map_err(ApiError::internal)?
}

/// Writer thread: appends each chunk to the part file and hashes it.
fn write_and_hash(
    path: &Path,
    mut chunks: mpsc::Receiver<Bytes>,
    piece_length: u64,
) -> std::io::Result<Hashed> {
    let mut file = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut hasher = PieceHasher::new(piece_length);
    while let Some(chunk) = chunks.blocking_recv() {
        file.write_all(&chunk)?;
        hasher.update(&chunk);
    }
    let file = file.into_inner().map_err(|e| e.into_error())?;
    file.sync_data()?;
    Ok(hasher.finish())
}

/// Builds the torrent, moves the file into place and registers it.
fn finish(
    state: &AppState,
    mut part: PartFile,
    name: &str,
    hashed: &Hashed,
) -> Result<Registered, ApiError> {
    let (bytes, metainfo) = build(state, name, hashed)?;
    let dir = state.files_dir.join(metainfo.info_hash.to_string());
    let final_path = dir.join(name);
    if state.registry.get(&metainfo.info_hash)?.is_none() {
        fs::create_dir_all(&dir).map_err(ApiError::internal)?;
        let part_path = part
            .0
            .take()
            .ok_or_else(|| ApiError::internal("upload already moved"))?;
        fs::rename(&part_path, &final_path).map_err(ApiError::internal)?;
    }
    // Already registered: the part file is dropped (deleted) and the existing entry returned.
    store(state, &bytes, &metainfo, &final_path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn base_name_strips_client_paths() {
        assert_eq!(base_name("C:\\Users\\me\\image.raw"), "image.raw");
        assert_eq!(base_name("/tmp/x/image.raw"), "image.raw");
        assert_eq!(base_name("image.raw"), "image.raw");
    }
}
