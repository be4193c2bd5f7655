# FindLibEv: locates Debian's libev-dev (ev.h, libev.so), which ships no
# CMake or pkg-config file. Defines the imported target LibEv::LibEv.
find_path(LIBEV_INCLUDE_DIR NAMES ev.h)
find_library(LIBEV_LIBRARY NAMES ev)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LibEv
  REQUIRED_VARS LIBEV_LIBRARY LIBEV_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "install libev-dev (scripts/install-deps.sh does it)")
if(LibEv_FOUND AND NOT TARGET LibEv::LibEv)
  add_library(LibEv::LibEv UNKNOWN IMPORTED)
  set_target_properties(LibEv::LibEv PROPERTIES
    IMPORTED_LOCATION "${LIBEV_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LIBEV_INCLUDE_DIR}")
endif()
mark_as_advanced(LIBEV_INCLUDE_DIR LIBEV_LIBRARY)
