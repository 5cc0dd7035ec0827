option(TRELLIS_BUILD_TESTS "Build the Catch2 test binary" ON)
option(TRELLIS_BUILD_EXAMPLES "Build examples (the user plugin template)" ON)
option(TRELLIS_BUILD_BENCH "Build the benchmark binary" ON)
option(TRELLIS_USE_PCH "Use precompiled headers for LibTorch-heavy objects" ON)
option(TRELLIS_USE_CCACHE "Use ccache when it is installed" ON)
option(TRELLIS_WERROR "Treat warnings as errors" OFF)

if(TRELLIS_USE_CCACHE)
  find_program(TRELLIS_CCACHE ccache)
  if(TRELLIS_CCACHE)
    # PCH with ccache needs these sloppiness settings.
    set(CMAKE_CXX_COMPILER_LAUNCHER
        ${CMAKE_COMMAND} -E env
        "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
        ${TRELLIS_CCACHE})
    message(STATUS "trellis: using ccache (${TRELLIS_CCACHE})")
  endif()
endif()

set(TRELLIS_WARNINGS -Wall -Wextra -Wno-unused-parameter)
if(TRELLIS_WERROR)
  list(APPEND TRELLIS_WARNINGS -Werror)
endif()
