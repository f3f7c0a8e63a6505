//! The four panes, by name: a leaf every console module may use (focus, key scopes, layout)
//! without depending on `App`.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaneId {
    Accounts,
    Queue,
    Files,
    Errors,
}

impl PaneId {
    pub const ALL: [PaneId; 4] = [
        PaneId::Accounts,
        PaneId::Queue,
        PaneId::Files,
        PaneId::Errors,
    ];

    pub fn title(self) -> &'static str {
        match self {
            PaneId::Accounts => "Accounts",
            PaneId::Queue => "Dropbox queue",
            PaneId::Files => "All Files",
            PaneId::Errors => "Error log",
        }
    }

    /// The tab strip's word when the full titles do not fit.
    pub fn short_title(self) -> &'static str {
        match self {
            PaneId::Accounts => "Accounts",
            PaneId::Queue => "Queue",
            PaneId::Files => "Files",
            PaneId::Errors => "Errors",
        }
    }

    pub(crate) fn index(self) -> usize {
        PaneId::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    pub(crate) fn offset(self, by: isize) -> PaneId {
        let n = PaneId::ALL.len() as isize;
        PaneId::ALL[(self.index() as isize + by).rem_euclid(n) as usize]
    }
}
