# cmake -P script: writes OUTPUT from TEMPLATE with the current git revision.
execute_process(COMMAND git -C ${SOURCE_DIR} rev-parse --short=12 HEAD
  OUTPUT_VARIABLE JANUS_GIT_REVISION OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT JANUS_GIT_REVISION)
  set(JANUS_GIT_REVISION "unknown")
endif()
execute_process(COMMAND git -C ${SOURCE_DIR} status --porcelain --untracked-files=no
  OUTPUT_VARIABLE janus_dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(janus_dirty)
  string(APPEND JANUS_GIT_REVISION "-dirty")
endif()
configure_file(${TEMPLATE} ${OUTPUT} @ONLY)
