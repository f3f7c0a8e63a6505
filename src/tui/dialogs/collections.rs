//! All Files' pencil (edit) dialog and batch-add dialog, both around one collection picker:
//! the account's collections (filterable), and *New collection…* with a name field. Pure
//! state and key handling; `draw_collections.rs` draws them. They are [`super::Dialog`]s like
//! every other: one dialog at a time, over the panes.

use std::collections::BTreeSet;

use crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::library::model::{Collection, CollectionId, FileRecord};
use crate::library::store::name_match;

use super::keys::DialogKey;

/// Details the edit dialog shows next to its picker.
#[derive(Clone, Debug, PartialEq)]
pub struct EditData {
    pub file: FileRecord,
    /// Width and height, for images whose header could be read.
    pub dimensions: Option<(u32, u32)>,
    /// What the file says about itself, once read (`Library::file_details`: its GPS position
    /// only for the account's owners and operators).
    pub metadata: Option<crate::library::metadata::FileMetadata>,
    /// Whether the admin may see where it was taken (`Right::ViewLocation`).
    pub location_shown: bool,
    pub collections: Vec<Collection>,
}

/// What a key in a collections dialog leads to.
#[derive(Debug, PartialEq)]
pub enum CollectionsOutcome {
    Stay,
    Cancel,
    /// Save the edit: keep these collections, create these.
    SaveEdit {
        keep: Vec<CollectionId>,
        create: Vec<String>,
    },
    /// Add the marked files to this collection.
    BatchAdd {
        collection: String,
        create: bool,
    },
}

#[derive(Debug, Default)]
pub struct CollectionPicker {
    pub collections: Vec<Collection>,
    pub filter: Input,
    /// Keys go to the filter field.
    pub filtering: bool,
    /// Over the shown collections, then *New collection…* last.
    pub cursor: usize,
    /// The *New collection…* name field, while it is open.
    pub naming: Option<Input>,
}

/// What the picker did with a key.
enum PickerKey {
    Used,
    /// Enter on a collection.
    Chose(CollectionId),
    /// A name was typed into *New collection…* and confirmed.
    Named(String),
    /// Not a picker key.
    Other,
}

impl CollectionPicker {
    pub fn new(collections: Vec<Collection>) -> CollectionPicker {
        CollectionPicker {
            collections,
            ..CollectionPicker::default()
        }
    }

    /// The collections the filter field lets through, in name order.
    pub fn shown(&self) -> Vec<&Collection> {
        let needle = name_match::fold(self.filter.value().trim());
        self.collections
            .iter()
            .filter(|c| name_match::matches(&c.name, &needle, false))
            .collect()
    }

    /// The picker's keys as it stands: its name field, its filter, or its `list`.
    pub fn keys(&self, list: &'static [DialogKey]) -> &'static [DialogKey] {
        if self.naming.is_some() {
            super::keys::NAMING
        } else if self.filtering {
            super::keys::FILTERING
        } else {
            list
        }
    }

    pub fn on_new(&self) -> bool {
        self.cursor >= self.shown().len()
    }

    fn key(&mut self, key: KeyEvent) -> PickerKey {
        if let Some(name) = &mut self.naming {
            match key.code {
                KeyCode::Esc => self.naming = None,
                KeyCode::Enter => {
                    let typed = name.value().trim().to_owned();
                    if typed.is_empty() {
                        return PickerKey::Used;
                    }
                    self.naming = None;
                    return PickerKey::Named(typed);
                }
                _ => {
                    name.handle_event(&Event::Key(key));
                }
            }
            return PickerKey::Used;
        }
        if self.filtering {
            match key.code {
                KeyCode::Esc | KeyCode::Enter | KeyCode::Down => self.filtering = false,
                _ => {
                    self.filter.handle_event(&Event::Key(key));
                    self.cursor = 0;
                }
            }
            return PickerKey::Used;
        }
        let items = self.shown().len() + 1;
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.cursor = (self.cursor + 1).min(items - 1),
            KeyCode::Home | KeyCode::Char('g') => self.cursor = 0,
            KeyCode::End | KeyCode::Char('G') => self.cursor = items - 1,
            KeyCode::Char('/') => self.filtering = true,
            KeyCode::Enter if self.on_new() => self.naming = Some(Input::default()),
            KeyCode::Enter => return PickerKey::Chose(self.shown()[self.cursor].id),
            _ => return PickerKey::Other,
        }
        PickerKey::Used
    }

    fn current(&self) -> Option<CollectionId> {
        self.shown().get(self.cursor).map(|c| c.id)
    }

    fn name_of(&self, id: CollectionId) -> Option<&str> {
        self.collections
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.as_str())
    }
}

/// The pencil: one file's details and the collections it is in. `Enter` chooses: on a
/// collection it ticks that one (unless `Space` already set it) and saves; on *New
/// collection…* it opens the name field, and `Enter` there adds the new collection and saves.
/// `Space` ticks or unticks without saving, for several at once.
#[derive(Debug)]
pub struct EditDialog {
    pub data: EditData,
    /// Collections ticked (the file is in them after saving). New ones have negative ids
    /// (see [`EditDialog::new_names`]).
    pub checked: BTreeSet<CollectionId>,
    /// Collections whose tick `Space` set or cleared: `Enter` on them saves as they are.
    pub touched: BTreeSet<CollectionId>,
    pub picker: CollectionPicker,
    /// Sent; waiting for the answer.
    pub saving: bool,
}

impl EditDialog {
    pub fn new(data: EditData) -> EditDialog {
        let checked = data
            .collections
            .iter()
            .filter(|c| data.file.collections.contains(&c.name))
            .map(|c| c.id)
            .collect();
        EditDialog {
            picker: CollectionPicker::new(data.collections.clone()),
            data,
            checked,
            touched: BTreeSet::new(),
            saving: false,
        }
    }

    /// New collections to create with the file in them (those still ticked).
    pub fn new_names(&self) -> Vec<String> {
        self.picker
            .collections
            .iter()
            .filter(|c| c.id.get() < 0 && self.checked.contains(&c.id))
            .map(|c| c.name.clone())
            .collect()
    }

    pub fn key(&mut self, key: KeyEvent) -> CollectionsOutcome {
        if self.saving {
            return CollectionsOutcome::Stay;
        }
        match self.picker.key(key) {
            PickerKey::Used => return CollectionsOutcome::Stay,
            PickerKey::Chose(id) => {
                if !self.touched.contains(&id) {
                    self.checked.insert(id);
                }
                return self.save();
            }
            PickerKey::Named(name) => {
                let known = self
                    .picker
                    .collections
                    .iter()
                    .find(|c| c.name.to_lowercase() == name.to_lowercase())
                    .map(|c| c.id);
                // An existing name is ticked, not created twice; a new one joins the list
                // (ticked, with a negative id) so it can be seen, moved to and unticked.
                let id = known.unwrap_or_else(|| {
                    let id = CollectionId(-(self.picker.collections.len() as i64) - 1);
                    self.picker.collections.push(Collection {
                        id,
                        account: self.data.file.account,
                        name,
                        file_count: 0,
                        created_at: 0,
                    });
                    id
                });
                self.checked.insert(id);
                return self.save();
            }
            PickerKey::Other => {}
        }
        match key.code {
            KeyCode::Esc => CollectionsOutcome::Cancel,
            KeyCode::Char(' ') => {
                if let Some(id) = self.picker.current() {
                    if !self.checked.remove(&id) {
                        self.checked.insert(id);
                    }
                    self.touched.insert(id);
                }
                CollectionsOutcome::Stay
            }
            _ => CollectionsOutcome::Stay,
        }
    }

    fn save(&mut self) -> CollectionsOutcome {
        self.saving = true;
        CollectionsOutcome::SaveEdit {
            keep: self
                .checked
                .iter()
                .copied()
                .filter(|id| id.get() >= 0)
                .collect(),
            create: self.new_names(),
        }
    }
}

/// Where a batch goes, once picked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchTarget {
    pub collection: String,
    pub create: bool,
}

/// Batch add: pick a collection (or name a new one), then confirm.
#[derive(Debug)]
pub struct BatchDialog {
    pub account: String,
    pub picker: CollectionPicker,
    /// Picked; the dialog now asks for confirmation.
    pub target: Option<BatchTarget>,
    /// How many files go (`None` while counting).
    pub files: Option<u64>,
    pub saving: bool,
}

impl BatchDialog {
    pub fn new(account: String, collections: Vec<Collection>, files: Option<u64>) -> BatchDialog {
        BatchDialog {
            account,
            picker: CollectionPicker::new(collections),
            target: None,
            files,
            saving: false,
        }
    }

    pub fn key(&mut self, key: KeyEvent) -> CollectionsOutcome {
        if self.saving {
            return CollectionsOutcome::Stay;
        }
        if let Some(target) = &self.target {
            return match key.code {
                KeyCode::Enter | KeyCode::Char('y') if self.files.is_some() => {
                    self.saving = true;
                    CollectionsOutcome::BatchAdd {
                        collection: target.collection.clone(),
                        create: target.create,
                    }
                }
                KeyCode::Esc | KeyCode::Char('n') => {
                    self.target = None;
                    CollectionsOutcome::Stay
                }
                _ => CollectionsOutcome::Stay,
            };
        }
        match self.picker.key(key) {
            PickerKey::Used => CollectionsOutcome::Stay,
            PickerKey::Chose(id) => {
                let name = self.picker.name_of(id).unwrap_or_default().to_owned();
                self.target = Some(BatchTarget {
                    collection: name,
                    create: false,
                });
                CollectionsOutcome::Stay
            }
            PickerKey::Named(name) => {
                let existing = self
                    .picker
                    .collections
                    .iter()
                    .find(|c| c.name.to_lowercase() == name.to_lowercase());
                self.target = Some(match existing {
                    Some(c) => BatchTarget {
                        collection: c.name.clone(),
                        create: false,
                    },
                    None => BatchTarget {
                        collection: name,
                        create: true,
                    },
                });
                CollectionsOutcome::Stay
            }
            PickerKey::Other if key.code == KeyCode::Esc => CollectionsOutcome::Cancel,
            PickerKey::Other => CollectionsOutcome::Stay,
        }
    }
}
