# trellis_add_objects(<name> [TORCH] SOURCES ...): one component folder as an OBJECT library.
# TORCH objects get LibTorch and reuse the precompiled header of trellis_core.
set_property(GLOBAL PROPERTY TRELLIS_OBJECT_LIBS "")

function(trellis_add_objects name)
  cmake_parse_arguments(ARG "TORCH" "" "SOURCES" ${ARGN})
  add_library(${name} OBJECT ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated>)
  target_compile_options(${name} PRIVATE ${TRELLIS_WARNINGS})
  target_link_libraries(${name} PUBLIC fmt::fmt yaml-cpp::yaml-cpp nlohmann_json::nlohmann_json)
  target_compile_definitions(${name} PRIVATE TRELLIS_BUILDING_LIBRARY)
  if(ARG_TORCH)
    target_link_libraries(${name} PUBLIC torch)
    target_include_directories(${name} SYSTEM PUBLIC ${TRELLIS_GLOO_INCLUDE})
    if(TRELLIS_USE_PCH AND NOT name STREQUAL "trellis_core")
      target_precompile_headers(${name} REUSE_FROM trellis_core)
    endif()
  else()
    # LibTorch-free objects still need its ABI flag to link with it.
    target_compile_options(${name} PRIVATE -D_GLIBCXX_USE_CXX11_ABI=1)
  endif()
  set_property(GLOBAL APPEND PROPERTY TRELLIS_OBJECT_LIBS ${name})
endfunction()

# trellis_kernel_sources(<file>... [OPTIONS <flag>...]): files of hot loops that call
# at::parallel_for, which is inline OpenMP in ATen's headers: compiled without -fopenmp it runs
# on one thread. Their flags differ, so they do not share the precompiled header.
function(trellis_kernel_sources)
  cmake_parse_arguments(ARG "" "" "OPTIONS" ${ARGN})
  separate_arguments(_omp UNIX_COMMAND "${OpenMP_CXX_FLAGS}")
  set_source_files_properties(${ARG_UNPARSED_ARGUMENTS} PROPERTIES
    COMPILE_OPTIONS "${_omp};${ARG_OPTIONS}" SKIP_PRECOMPILE_HEADERS ON)
endfunction()

# trellis_glob(<var> <dir>...): the .cpp files of a folder (not recursive).
function(trellis_glob var)
  set(files "")
  foreach(dir ${ARGN})
    file(GLOB found CONFIGURE_DEPENDS "${dir}/*.cpp")
    list(APPEND files ${found})
  endforeach()
  list(SORT files)
  set(${var} ${files} PARENT_SCOPE)
endfunction()
