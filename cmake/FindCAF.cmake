# FindCAF.cmake: locates the C++ Actor Framework as Debian packages it
# (libcaf-dev: headers under include/caf, libcaf_{core,io,openssl}.so, no
# CMake package config).
#
# Result: CAF_FOUND, CAF_VERSION, and imported targets CAF::core, CAF::io,
# CAF::openssl for each component that was found.
#   find_package(CAF 0.17 REQUIRED COMPONENTS core io)

find_path(CAF_INCLUDE_DIR NAMES caf/all.hpp caf/config.hpp)

if(CAF_INCLUDE_DIR AND EXISTS "${CAF_INCLUDE_DIR}/caf/config.hpp")
  # config.hpp says e.g. "#define CAF_VERSION 1706" for 0.17.6.
  file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" _caf_version_line
       REGEX "^#define CAF_VERSION [0-9]+")
  string(REGEX REPLACE "^#define CAF_VERSION ([0-9]+).*$" "\\1"
         _caf_version_number "${_caf_version_line}")
  math(EXPR _caf_major "${_caf_version_number} / 10000")
  math(EXPR _caf_minor "(${_caf_version_number} / 100) % 100")
  math(EXPR _caf_patch "${_caf_version_number} % 100")
  set(CAF_VERSION "${_caf_major}.${_caf_minor}.${_caf_patch}")
endif()

find_package(Threads QUIET)

foreach(_caf_component core io openssl)
  find_library(CAF_${_caf_component}_LIBRARY NAMES caf_${_caf_component})
  if(CAF_${_caf_component}_LIBRARY AND CAF_INCLUDE_DIR)
    set(CAF_${_caf_component}_FOUND TRUE)
    if(NOT TARGET CAF::${_caf_component})
      add_library(CAF::${_caf_component} SHARED IMPORTED)
      set_target_properties(CAF::${_caf_component} PROPERTIES
        IMPORTED_LOCATION "${CAF_${_caf_component}_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}")
      set(_caf_deps Threads::Threads)
      if(NOT _caf_component STREQUAL "core")
        list(APPEND _caf_deps CAF::core)
      endif()
      set_property(TARGET CAF::${_caf_component} PROPERTY
        INTERFACE_LINK_LIBRARIES ${_caf_deps})
    endif()
  endif()
endforeach()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CAF
  REQUIRED_VARS CAF_INCLUDE_DIR CAF_core_LIBRARY
  VERSION_VAR CAF_VERSION
  HANDLE_COMPONENTS)
mark_as_advanced(CAF_INCLUDE_DIR CAF_core_LIBRARY CAF_io_LIBRARY
                 CAF_openssl_LIBRARY)
