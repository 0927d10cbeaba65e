//! A blocking handle on one ZooKeeper session for code that is not async (`jkctl announce`,
//! tests): the client lives on a thread of its own inside `spawns`' one-thread executor (its
//! session task must keep running between calls to keep the session, and ephemeral nodes,
//! alive); each call sends a job there and waits for its answer, bounded.

use std::sync::mpsc;
use std::time::Duration;

use futures::channel::mpsc as amc;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use zookeeper_client as zk;

type Job = Box<dyn FnOnce(zk::Client) -> BoxFuture<'static, ()> + Send>;

/// One session; dropping it closes the session (its ephemeral nodes go at once).
pub struct Session {
    jobs: amc::UnboundedSender<Job>,
    session_id: i64,
    limit: Duration,
}

impl Session {
    /// Connects to `connect` (`h1:p1,h2:p2`), with digest credentials `auth` (`user:password`).
    /// Fails when no server answers within `timeout`.
    pub fn connect(
        connect: &str,
        session_timeout: Duration,
        auth: Option<&str>,
        timeout: Duration,
    ) -> Result<Session, String> {
        let (jobs, mut rx) = amc::unbounded::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<i64, String>>();
        let mut connector = zk::Client::connector()
            .with_session_timeout(session_timeout)
            .with_fail_eagerly();
        if let Some(a) = auth {
            connector = connector.with_auth("digest", a.as_bytes());
        }
        let cluster = connect.to_string();
        std::thread::Builder::new()
            .name("jk-zk-session".into())
            .spawn(move || {
                spawns::block_on(async move {
                    let client = match connector.connect(&cluster).await {
                        Ok(c) => c,
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("cannot connect to {cluster}: {e}")));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(client.session_id().0));
                    while let Some(job) = rx.next().await {
                        job(client.clone()).await;
                    }
                    // All handles dropped: close the session, so ephemeral nodes go now rather
                    // than after the session timeout.
                    // (dropping the last client ends the session; its task needs a moment to
                    // say so to the server).
                    drop(client);
                    async_io::Timer::after(Duration::from_millis(300)).await;
                });
            })
            .map_err(|e| e.to_string())?;
        let session_id = ready_rx.recv_timeout(timeout).map_err(|_| {
            format!("no ZooKeeper server of {connect} answered within {timeout:?}")
        })??;
        Ok(Session {
            jobs,
            session_id,
            limit: timeout,
        })
    }

    pub fn session_id(&self) -> i64 {
        self.session_id
    }

    /// Runs `f` with the client on the session's thread and waits (bounded) for its answer.
    pub fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(zk::Client) -> BoxFuture<'static, T> + Send + 'static,
    ) -> Result<T, String> {
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move |c| {
            async move {
                let _ = tx.send(f(c).await);
            }
            .boxed()
        });
        self.jobs
            .unbounded_send(job)
            .map_err(|_| "the ZooKeeper session is gone".to_string())?;
        rx.recv_timeout(self.limit)
            .map_err(|_| format!("ZooKeeper did not answer within {:?}", self.limit))
    }

    /// The session's state now.
    pub fn state(&self) -> Result<zk::SessionState, String> {
        self.call(|c| async move { c.state() }.boxed())
    }

    /// Creates `path`'s missing parents as persistent nodes (ACL: `acl_digest` user only when
    /// given, else anyone).
    pub fn ensure_parents(&self, path: &str, acl_digest: Option<&str>) -> Result<(), String> {
        let parent = match path.rfind('/') {
            Some(0) | None => return Ok(()),
            Some(i) => path[..i].to_string(),
        };
        let acl = acl_digest.map(str::to_string);
        self.call(move |c| {
            async move {
                let acls = owner_acls(acl.as_deref());
                let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::new(&acls));
                match c.mkdir(&parent, &opts).await {
                    Ok(()) | Err(zk::Error::NodeExists) => Ok(()),
                    Err(e) => Err(format!("cannot create {parent}: {e}")),
                }
            }
            .boxed()
        })?
    }

    /// Creates `path` with `data` (`ephemeral`: it goes with the session). An ephemeral node
    /// left by an earlier session of ours is replaced.
    pub fn create(
        &self,
        path: &str,
        data: &[u8],
        ephemeral: bool,
        acl_digest: Option<&str>,
    ) -> Result<(), String> {
        let (path, data) = (path.to_string(), data.to_vec());
        let acl = acl_digest.map(str::to_string);
        self.call(move |c| {
            async move {
                let acls = owner_acls(acl.as_deref());
                let mode = if ephemeral {
                    zk::CreateMode::Ephemeral
                } else {
                    zk::CreateMode::Persistent
                };
                let opts = mode.with_acls(zk::Acls::new(&acls));
                match c.create(&path, &data, &opts).await {
                    Ok(_) => Ok(()),
                    Err(zk::Error::NodeExists) => {
                        // Ours from a session that has not expired yet (a restart), or
                        // someone else's: replace it only if it is ephemeral.
                        let (_, stat) = c.get_data(&path).await.map_err(|e| e.to_string())?;
                        if stat.ephemeral_owner == 0 && ephemeral {
                            return Err(format!("{path} exists and is not ephemeral"));
                        }
                        c.delete(&path, Some(stat.version))
                            .await
                            .map_err(|e| format!("cannot replace {path}: {e}"))?;
                        c.create(&path, &data, &opts)
                            .await
                            .map(|_| ())
                            .map_err(|e| format!("cannot create {path}: {e}"))
                    }
                    Err(e) => Err(format!("cannot create {path}: {e}")),
                }
            }
            .boxed()
        })?
    }

    /// Deletes `path` (no error when it is gone already).
    pub fn delete(&self, path: &str) -> Result<(), String> {
        let path = path.to_string();
        self.call(move |c| {
            async move {
                match c.delete(&path, None).await {
                    Ok(()) | Err(zk::Error::NoNode) => Ok(()),
                    Err(e) => Err(format!("cannot delete {path}: {e}")),
                }
            }
            .boxed()
        })?
    }

    /// The data of `path` and its version (None: no such node).
    pub fn get(&self, path: &str) -> Result<Option<(Vec<u8>, i32)>, String> {
        let path = path.to_string();
        self.call(move |c| {
            async move {
                match c.get_data(&path).await {
                    Ok((d, st)) => Ok(Some((d, st.version))),
                    Err(zk::Error::NoNode) => Ok(None),
                    Err(e) => Err(format!("cannot read {path}: {e}")),
                }
            }
            .boxed()
        })?
    }

    /// Writes `data` to `path` if its version is still `version` (None: creates it as a
    /// persistent node, failing if it exists). Returns the new version; Err("BadVersion")
    /// when someone else wrote in between.
    pub fn put(&self, path: &str, data: &[u8], version: Option<i32>) -> Result<i32, String> {
        let (path, data) = (path.to_string(), data.to_vec());
        self.call(move |c| {
            async move {
                match version {
                    Some(v) => match c.set_data(&path, &data, Some(v)).await {
                        Ok(st) => Ok(st.version),
                        Err(zk::Error::BadVersion) => Err("BadVersion".to_string()),
                        Err(e) => Err(format!("cannot write {path}: {e}")),
                    },
                    None => {
                        let acls = owner_acls(None);
                        let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::new(&acls));
                        match c.create(&path, &data, &opts).await {
                            Ok((st, _)) => Ok(st.version),
                            Err(zk::Error::NodeExists) => Err("BadVersion".to_string()),
                            Err(e) => Err(format!("cannot create {path}: {e}")),
                        }
                    }
                }
            }
            .boxed()
        })?
    }

    /// The children of `path` (empty: none, or no such node).
    pub fn children(&self, path: &str) -> Result<Vec<String>, String> {
        let path = path.to_string();
        self.call(move |c| {
            async move {
                match c.list_children(&path).await {
                    Ok(v) => Ok(v),
                    Err(zk::Error::NoNode) => Ok(Vec::new()),
                    Err(e) => Err(format!("cannot list {path}: {e}")),
                }
            }
            .boxed()
        })?
    }
}

/// ACLs for nodes we create: everything for the digest user `user:password` (and reading for
/// anyone), or everything for anyone without credentials.
fn owner_acls(digest: Option<&str>) -> Vec<zk::Acl> {
    match digest {
        // "auth": the digest identity this session authenticated as.
        Some(_) => {
            vec![
                zk::Acl::new(zk::Permission::ALL, zk::AuthId::authed()),
                zk::Acl::new(zk::Permission::READ, zk::AuthId::anyone()),
            ]
        }
        None => vec![zk::Acl::new(zk::Permission::ALL, zk::AuthId::anyone())],
    }
}
