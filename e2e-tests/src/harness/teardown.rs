//! Tearing a stack down: children killed, then databases dropped and
//! broker names (or the vhost) deleted, logs removed unless the test
//! failed. [`Resources`] cleans up on its own, so a stack that fails
//! half-way through starting leaves nothing behind either.

use super::{Resources, Stack, infra};

impl Drop for Stack {
    fn drop(&mut self) {
        // Processes first: a store must not redeclare the exchange that
        // `resources` (dropped after this) deletes.
        for process in self.worker_processes.iter_mut().flatten() {
            process.kill();
        }
        for process in self.store_processes.iter_mut().flatten() {
            process.kill();
        }
        if let Some(process) = self.central_process.as_mut() {
            process.kill();
        }
        if std::thread::panicking() {
            eprintln!("logs of the failed stack: {}", self.log_dir.display());
        } else if std::env::var_os("E2E_KEEP_LOGS").is_some() {
            eprintln!("logs of the stack: {}", self.log_dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.log_dir);
        }
    }
}

impl Drop for Resources {
    fn drop(&mut self) {
        let databases = std::mem::take(&mut self.databases);
        let exchanges = std::mem::take(&mut self.exchanges);
        let queues = std::mem::take(&mut self.queues);
        let (amqp_url, vhost) = (self.amqp_url.clone(), self.vhost.take());
        // Drop may run inside the test's runtime, which must not block:
        // clean up on a thread with a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                infra::drop_databases(&databases).await?;
                match &vhost {
                    Some(vhost) => infra::delete_vhost(vhost),
                    None if !exchanges.is_empty() => {
                        infra::delete_broker_names(&amqp_url, &exchanges, &queues).await?;
                    }
                    None => {}
                }
                anyhow::Ok(())
            })
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("e2e clean-up of stack {} incomplete: {error:#}", self.id),
            Err(_) => eprintln!("e2e clean-up of stack {} panicked", self.id),
        }
    }
}
