// Errors the datastore reports to its callers.
#pragma once

#include <stdexcept>
#include <string>

namespace janus {

// Any datastore failure (connection, SQL, decoding a stored value).
class DatastoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An insert hit an existing row with the same key (e.g. a replayed report or job id).
class MutationTargetAlreadyExists : public DatastoreError {
 public:
  using DatastoreError::DatastoreError;
};

// An update or release found no matching row (e.g. a lease token no longer held).
class MutationTargetNotFound : public DatastoreError {
 public:
  using DatastoreError::DatastoreError;
};

// An encrypted column did not decrypt under any datastore key. The message names the
// table and column, never the value.
class DecryptionError : public DatastoreError {
 public:
  using DatastoreError::DatastoreError;
};

// The schema version of the database differs from the one this build expects.
class SchemaVersionMismatch : public DatastoreError {
 public:
  using DatastoreError::DatastoreError;
};

}  // namespace janus
