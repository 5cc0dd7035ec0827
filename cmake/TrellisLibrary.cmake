# libtrellis: one SHARED library holding every OBJECT library (so no registration is dropped).
get_property(_objs GLOBAL PROPERTY TRELLIS_OBJECT_LIBS)
set(_sources "")
foreach(o ${_objs})
  list(APPEND _sources $<TARGET_OBJECTS:${o}>)
endforeach()
add_library(trellis SHARED ${_sources})
add_library(trellis::trellis ALIAS trellis)
target_include_directories(trellis PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated>
  $<INSTALL_INTERFACE:include/trellis> $<INSTALL_INTERFACE:include>)
target_include_directories(trellis SYSTEM PUBLIC $<BUILD_INTERFACE:${TRELLIS_GLOO_INCLUDE}>)
# SentencePiece is not linked here: it is loaded at run time (libtrellis_spm, core/CMakeLists.txt).
target_link_libraries(trellis
  PUBLIC torch fmt::fmt yaml-cpp::yaml-cpp nlohmann_json::nlohmann_json
  PRIVATE CLI11::CLI11 PkgConfig::FFTW3F PkgConfig::SNDFILE PkgConfig::SOXR PkgConfig::LIBARCHIVE
          OpenMP::OpenMP_CXX ${CMAKE_DL_LIBS})
add_dependencies(trellis trellis_spm)
# Every symbol must resolve inside libtrellis or its dependencies (catches a missing .cpp early).
target_link_options(trellis PRIVATE "-Wl,--no-undefined")
set_target_properties(trellis PROPERTIES
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
  INSTALL_RPATH "$ORIGIN")

include(GNUInstallDirs)
install(TARGETS trellis EXPORT trellisTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY core tasks criteria models optim scoring DESTINATION include/trellis
        FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/generated/core/version.h DESTINATION include/trellis/core)
# The application API (docs/generate.md, "C++ API"): #include <trellis/transcriber.h>.
install(FILES include/trellis/transcriber.h DESTINATION include/trellis)
install(EXPORT trellisTargets NAMESPACE trellis:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/trellis)
configure_file(cmake/trellis-config.cmake.in ${PROJECT_BINARY_DIR}/trellis-config.cmake @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/trellis-config.cmake cmake/TrellisPlugin.cmake
              cmake/trellis_plugin_abi.cpp.in
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/trellis)
include(TrellisPlugin)
