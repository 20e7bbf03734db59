// SPDX-License-Identifier: Apache-2.0
//! Multi-step operations that leave nothing half-made: each step that changes something
//! registers its undo; if a later step fails, the undos run in reverse order.

type UndoFn<'a> = Box<dyn FnOnce() -> Result<(), String> + 'a>;

/// The undos registered so far.
#[derive(Default)]
pub struct Rollback<'a> {
    steps: Vec<(String, UndoFn<'a>)>,
}

impl<'a> Rollback<'a> {
    /// Registers how to undo a step that has just succeeded; `what` names what is left behind
    /// if the undo itself fails.
    pub fn push(
        &mut self,
        what: impl Into<String>,
        undo: impl FnOnce() -> Result<(), String> + 'a,
    ) {
        self.steps.push((what.into(), Box::new(undo)));
    }

    /// Runs the undos in reverse; returns what could not be undone, each with its reason.
    fn unwind(self) -> Vec<String> {
        let mut leftovers = Vec::new();
        for (what, undo) in self.steps.into_iter().rev() {
            if let Err(reason) = undo() {
                leftovers.push(format!("{what} ({reason})"));
            }
        }
        leftovers
    }
}

/// A failed transaction: the step's error and what its undos could not remove.
#[derive(Debug)]
pub struct Failed<E> {
    pub error: E,
    pub leftovers: Vec<String>,
}

/// Runs `body`; on `Err` unwinds every registered undo.
pub fn transaction<'a, T, E>(
    body: impl FnOnce(&mut Rollback<'a>) -> Result<T, E>,
) -> Result<T, Failed<E>> {
    let mut rollback = Rollback::default();
    match body(&mut rollback) {
        Ok(v) => Ok(v),
        Err(error) => Err(Failed {
            error,
            leftovers: rollback.unwind(),
        }),
    }
}

/// An undo that removes a file or directory tree, treating "already gone" as done.
pub fn remove_path(path: &std::path::Path) -> Result<(), String> {
    let result = match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    result.map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn undos_run_in_reverse_and_report_failures() {
        let log = RefCell::new(Vec::new());
        let r: Result<(), Failed<&str>> = transaction(|rb| {
            rb.push("one", || {
                log.borrow_mut().push(1);
                Ok(())
            });
            rb.push("two", || {
                log.borrow_mut().push(2);
                Err("stuck".to_string())
            });
            Err("step three failed")
        });
        let failed = r.expect_err("fails");
        assert_eq!(failed.error, "step three failed");
        assert_eq!(failed.leftovers, vec!["two (stuck)".to_string()]);
        assert_eq!(*log.borrow(), vec![2, 1]);
    }

    #[test]
    fn success_runs_no_undo() {
        let ran = RefCell::new(false);
        let r: Result<u8, Failed<()>> = transaction(|rb| {
            rb.push("x", || {
                *ran.borrow_mut() = true;
                Ok(())
            });
            Ok(7)
        });
        assert_eq!(r.expect("ok"), 7);
        assert!(!*ran.borrow());
    }
}
