# trellis_add_plugin(<target> SOURCES <files>...)
# Builds a --user-dir plugin: a MODULE library linked to libtrellis (never statically), with the
# exported ABI and LibTorch version symbols the loader checks before accepting the plugin.
set(_TRELLIS_PLUGIN_DIR "${CMAKE_CURRENT_LIST_DIR}")

function(trellis_add_plugin target)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "trellis_add_plugin(${target}): no SOURCES given")
  endif()
  set(abi_src "${CMAKE_CURRENT_BINARY_DIR}/${target}_trellis_abi.cpp")
  configure_file("${_TRELLIS_PLUGIN_DIR}/trellis_plugin_abi.cpp.in" "${abi_src}" @ONLY)
  add_library(${target} MODULE ${ARG_SOURCES} "${abi_src}")
  target_link_libraries(${target} PRIVATE trellis::trellis)
  set_target_properties(${target} PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON PREFIX "lib"
    LIBRARY_OUTPUT_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
endfunction()
