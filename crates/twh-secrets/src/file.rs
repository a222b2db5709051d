//! The encrypted single-file backend (`file:///path/to/store`).

mod format;
mod seal;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::state::State;
use crate::{
    ActiveSet, Clock, ImportMode, ImportOutcome, MasterKey, Principal, PutOptions, RevokeTarget,
    SecretError, SecretExport, SecretGenerator, SecretMetadata, SecretName, SecretProvider,
    SecretValue, SystemClock, Version, VersionInfo, VersionedSecret,
};

use seal::Sealed;

/// The file backend. Cheap to clone; safe to share between tasks, and
/// between processes opening the same store.
///
///
///
/// One JSON store file holds every secret; each value is sealed with
/// XChaCha20-Poly1305 under the master key, with a fresh random nonce and
/// associated data binding it to its name and version. Writers take an OS
/// lock on `<store>.lock`, re-read the store, apply one change, and replace
/// the file atomically (temp file, fsync, rename, fsync of the directory), so
/// readers — which never lock — always see a whole store, and a crash at any
/// point leaves either the old or the new store.
#[derive(Clone)]
pub struct FileProvider {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    lock_path: PathBuf,
    sealer: seal::Sealer,
    clock: Arc<dyn Clock>,
    principal: Principal,
    /// The store content this process decoded last (see [`Decoded`]).
    decoded: Mutex<Option<Decoded>>,
}

/// A verified, decoded store file, reused while the file on disk is the same.
///
/// "The same" means the same file (inode, length, modification time) with the
/// same store MAC, read from its first few hundred bytes. The MAC covers every
/// secret, state and label, so a writer's change (always a new file, renamed
/// into place) changes it even when the filesystem's clock is too coarse to
/// tell two writes apart; an edit made in place by anything else changes the
/// modification time, so the file is decoded and checked in full again and
/// the tampering is reported. A read of an unchanged store skips the JSON
/// parse and MAC check of the whole file.
struct Decoded {
    stamp: FileStamp,
    mac: Vec<u8>,
    state: Arc<State<Sealed>>,
}

/// What identifies one version of the store file on disk.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: u64,
}

impl FileStamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Self {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        }
    }
}

impl fmt::Debug for FileProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileProvider")
            .field("path", &self.inner.path)
            .field("principal", &self.inner.principal)
            .finish_non_exhaustive()
    }
}

impl FileProvider {
    /// Creates a new, empty store at `path` (plus `<path>.lock`), sealed with `key`.
    /// Missing parent directories are created (mode `0700` on Unix).
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`] if a store already exists there,
    /// [`SecretError::Backend`] on I/O failure.
    pub fn init(path: impl Into<PathBuf>, key: MasterKey) -> Result<Self, SecretError> {
        let path = path.into();
        if let Some(dir) = parent(&path) {
            create_dir_private(dir)?;
        }
        let p = Self::build(path, key);
        if p.inner.path.is_dir() {
            return Err(SecretError::invalid(format!(
                "{} is a directory; the store path names the store file (e.g. .twh/store)",
                p.inner.path.display()
            )));
        }
        let _lock = p.inner.lock()?;
        if p.inner.path.exists() {
            return Err(SecretError::invalid(format!(
                "a store already exists at {}",
                p.inner.path.display()
            )));
        }
        p.inner.save(&State::default())?;
        Ok(p)
    }

    /// Opens an existing store, checking that `key` is the store's master key.
    ///
    /// # Errors
    /// [`SecretError::InvalidInput`] when there is no store (the message says
    /// to run `twh secret init`), [`SecretError::Corrupt`] for a wrong key or a
    /// damaged file.
    pub fn open(path: impl Into<PathBuf>, key: MasterKey) -> Result<Self, SecretError> {
        let p = Self::build(path.into(), key);
        p.inner.load()?;
        Ok(p)
    }

    /// Opens the store if it exists, else creates it.
    ///
    /// # Errors
    /// As [`FileProvider::open`] and [`FileProvider::init`].
    pub fn open_or_init(path: impl Into<PathBuf>, key: MasterKey) -> Result<Self, SecretError> {
        let path = path.into();
        if path.exists() {
            Self::open(path, key)
        } else {
            match Self::init(path.clone(), key.clone()) {
                Err(SecretError::InvalidInput { .. }) => Self::open(path, key),
                other => other,
            }
        }
    }

    fn build(path: PathBuf, key: MasterKey) -> Self {
        let mut lock = path.clone().into_os_string();
        lock.push(".lock");
        Self {
            inner: Arc::new(Inner {
                path,
                lock_path: PathBuf::from(lock),
                sealer: seal::Sealer::new(&key),
                clock: Arc::new(SystemClock),
                principal: Principal::local(),
                decoded: Mutex::default(),
            }),
        }
    }

    /// Uses another clock (tests).
    #[must_use]
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        self.map_inner(|i| i.clock = clock)
    }

    /// Records writes as made by `principal` (default [`Principal::local`]).
    #[must_use]
    pub fn with_principal(self, principal: Principal) -> Self {
        self.map_inner(|i| i.principal = principal)
    }

    fn map_inner(self, f: impl FnOnce(&mut Inner)) -> Self {
        let i = &self.inner;
        let mut inner = Inner {
            path: i.path.clone(),
            lock_path: i.lock_path.clone(),
            sealer: i.sealer.clone(),
            clock: Arc::clone(&i.clock),
            principal: i.principal.clone(),
            decoded: Mutex::default(),
        };
        f(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The store file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn read<R, F>(&self, f: F) -> Result<R, SecretError>
    where
        R: Send + 'static,
        F: FnOnce(&Inner, &State<Sealed>) -> Result<R, SecretError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let st = inner.load()?;
            f(&inner, &st)
        })
        .await
    }

    async fn write<R, F>(&self, f: F) -> Result<R, SecretError>
    where
        R: Send + 'static,
        F: FnOnce(&Inner, &mut State<Sealed>) -> Result<R, SecretError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.write_locked(f)).await
    }
}

async fn blocking<R, F>(f: F) -> Result<R, SecretError>
where
    R: Send + 'static,
    F: FnOnce() -> Result<R, SecretError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SecretError::Backend {
            context: "file backend task failed".to_owned(),
            source: Some(Arc::new(e)),
        })?
}

fn parent(path: &Path) -> Option<&Path> {
    path.parent().filter(|p| !p.as_os_str().is_empty())
}

fn create_dir_private(dir: &Path) -> Result<(), SecretError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(dir)
        .map_err(|e| SecretError::io(format!("creating directory {}", dir.display()), e))
}

impl Inner {
    fn lock(&self) -> Result<File, SecretError> {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.lock_path)
            .map_err(|e| {
                SecretError::io(format!("opening lock file {}", self.lock_path.display()), e)
            })?;
        fs4::fs_std::FileExt::lock_exclusive(&f)
            .map_err(|e| SecretError::io(format!("locking {}", self.lock_path.display()), e))?;
        Ok(f)
    }

    /// The store as it is on disk now: the cached decode when the file is
    /// unchanged (see [`Decoded`]), else a full read, decode and MAC check.
    fn load(&self) -> Result<Arc<State<Sealed>>, SecretError> {
        let mut file = self.open_store()?;
        let read_err = |e| SecretError::io(format!("reading store {}", self.path.display()), e);
        let mut head = [0_u8; format::HEAD_LEN];
        let mut have = 0;
        while have < head.len() {
            match file.read(&mut head[have..]).map_err(read_err)? {
                0 => break,
                n => have += n,
            }
        }
        let stamp = FileStamp::of(&file.metadata().map_err(read_err)?);
        let mac = format::peek_mac(&head[..have]);
        let mut cache = self.decoded.lock().unwrap_or_else(PoisonError::into_inner);
        if let (Some(mac), Some(d)) = (mac, cache.as_ref()) {
            if d.stamp == stamp && d.mac == mac {
                return Ok(Arc::clone(&d.state));
            }
        }
        let mut bytes = Vec::with_capacity(usize::try_from(stamp.len).unwrap_or(0));
        bytes.extend_from_slice(&head[..have]);
        file.read_to_end(&mut bytes).map_err(read_err)?;
        let state = Arc::new(format::decode(&bytes, &self.sealer)?);
        *cache = format::peek_mac(&bytes).map(|mac| Decoded {
            stamp,
            mac: mac.to_vec(),
            state: Arc::clone(&state),
        });
        Ok(state)
    }

    fn open_store(&self) -> Result<File, SecretError> {
        let is_dir = || {
            SecretError::invalid(format!(
                "{} is a directory; the store path names the store file (e.g. .twh/store)",
                self.path.display()
            ))
        };
        match File::open(&self.path) {
            Ok(f) if f.metadata().is_ok_and(|m| m.is_dir()) => Err(is_dir()),
            Ok(f) => Ok(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(SecretError::invalid(format!(
                    "no secret store at {} (run `twh secret init`)",
                    self.path.display()
                )))
            }
            Err(_) if self.path.is_dir() => Err(is_dir()),
            Err(e) => Err(SecretError::io(
                format!("reading store {}", self.path.display()),
                e,
            )),
        }
    }

    fn write_locked<R>(
        &self,
        f: impl FnOnce(&Self, &mut State<Sealed>) -> Result<R, SecretError>,
    ) -> Result<R, SecretError> {
        let lock = self.lock()?;
        let mut st: State<Sealed> = State::clone(&*self.load()?);
        let r = f(self, &mut st)?;
        let (bytes, stamp) = self.save(&st)?;
        *self.decoded.lock().unwrap_or_else(PoisonError::into_inner) = format::peek_mac(&bytes)
            .map(|mac| Decoded {
                stamp,
                mac: mac.to_vec(),
                state: Arc::new(st),
            });
        drop(lock);
        Ok(r)
    }

    /// Crash-safe replace: temp file in the same directory, fsync, rename, fsync dir.
    /// Called with the lock held. Returns the bytes written and the new
    /// file's stamp.
    fn save(&self, st: &State<Sealed>) -> Result<(Vec<u8>, FileStamp), SecretError> {
        let bytes = format::encode(st, &self.sealer)?;
        let dir = parent(&self.path).unwrap_or_else(|| Path::new("."));
        let file_name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "store".to_owned());
        let tmp_prefix = format!(".{file_name}.tmp.");
        remove_stale_temps(dir, &tmp_prefix);
        let tmp = dir.join(format!("{tmp_prefix}{}", std::process::id()));
        let ctx = |what: &str| format!("{what} {}", tmp.display());
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(&tmp)
            .map_err(|e| SecretError::io(ctx("creating"), e))?;
        let stamp = f
            .write_all(&bytes)
            .and_then(|()| f.sync_all())
            .and_then(|()| f.metadata())
            .map_err(|e| SecretError::io(ctx("writing"), e))?;
        let stamp = FileStamp::of(&stamp);
        drop(f);
        std::fs::rename(&tmp, &self.path)
            .map_err(|e| SecretError::io(format!("replacing {}", self.path.display()), e))?;
        sync_dir(dir)?;
        Ok((bytes, stamp))
    }
}

/// Temp files left by a writer that crashed (we hold the lock, so no live writer owns one).
fn remove_stale_temps(dir: &Path, prefix: &str) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), SecretError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| SecretError::io(format!("syncing directory {}", dir.display()), e))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[async_trait]
impl SecretProvider for FileProvider {
    async fn get(&self, name: &SecretName) -> Result<VersionedSecret, SecretError> {
        let name = name.clone();
        self.read(move |i, st| st.get(&i.sealer, &name)).await
    }

    async fn get_version(
        &self,
        name: &SecretName,
        version: Version,
    ) -> Result<VersionedSecret, SecretError> {
        let name = name.clone();
        self.read(move |i, st| st.get_version(&i.sealer, &name, version))
            .await
    }

    async fn active(&self, name: &SecretName) -> Result<ActiveSet, SecretError> {
        let name = name.clone();
        self.read(move |i, st| st.active(&i.sealer, &name, i.clock.now()))
            .await
    }

    async fn put(
        &self,
        name: &SecretName,
        value: SecretValue,
        options: PutOptions,
    ) -> Result<Version, SecretError> {
        let name = name.clone();
        self.write(move |i, st| {
            st.put(
                &i.sealer,
                &name,
                &value,
                &options,
                i.clock.now(),
                &i.principal,
            )
        })
        .await
    }

    async fn metadata(&self, name: &SecretName) -> Result<SecretMetadata, SecretError> {
        let name = name.clone();
        self.read(move |_, st| st.metadata(&name)).await
    }

    async fn versions(&self, name: &SecretName) -> Result<Vec<VersionInfo>, SecretError> {
        let name = name.clone();
        self.read(move |_, st| st.versions(&name)).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<SecretName>, SecretError> {
        let prefix = prefix.to_owned();
        self.read(move |_, st| Ok(st.list(&prefix))).await
    }

    async fn rotate(
        &self,
        name: &SecretName,
        generator: &dyn SecretGenerator,
        grace: Duration,
    ) -> Result<Version, SecretError> {
        // Read the current version, generate outside the lock, then commit
        // with compare-and-set: a concurrent rotation makes this one `Conflict`.
        let n = name.clone();
        let expected = self.read(move |_, st| st.current_version(&n)).await?;
        let value = generator.generate()?;
        let name = name.clone();
        self.write(move |i, st| {
            st.rotate(
                &i.sealer,
                &name,
                expected,
                &value,
                grace,
                i.clock.now(),
                &i.principal,
            )
        })
        .await
    }

    async fn rollback(&self, name: &SecretName, to: Version) -> Result<Version, SecretError> {
        let name = name.clone();
        self.write(move |i, st| st.rollback(&i.sealer, &name, to, i.clock.now(), &i.principal))
            .await
    }

    async fn revoke(
        &self,
        name: &SecretName,
        target: RevokeTarget,
        reason: &str,
    ) -> Result<Vec<Version>, SecretError> {
        let name = name.clone();
        let reason = reason.to_owned();
        self.write(move |i, st| st.revoke(&name, target, &reason, i.clock.now()))
            .await
    }

    async fn destroy(&self, name: &SecretName, version: Version) -> Result<(), SecretError> {
        let name = name.clone();
        self.write(move |_, st| st.destroy(&name, version)).await
    }

    async fn export(&self, name: &SecretName) -> Result<SecretExport, SecretError> {
        let name = name.clone();
        self.read(move |i, st| st.export(&i.sealer, &name)).await
    }

    async fn import(
        &self,
        export: SecretExport,
        mode: ImportMode,
    ) -> Result<ImportOutcome, SecretError> {
        // An unchanged import must not rewrite the file (idempotent migration).
        let probe = export.clone();
        let unchanged = self
            .read(move |i, st| {
                Ok(st
                    .export(&i.sealer, &probe.name)
                    .is_ok_and(|have| have.same_content(&probe)))
            })
            .await?;
        if unchanged {
            return Ok(ImportOutcome::Unchanged);
        }
        self.write(move |i, st| st.import(&i.sealer, &export, mode))
            .await
    }
}
