# Per-target compile defaults (spdlog's utils.cmake pattern): never global flags.
option(SOCIALAI_WERROR "Treat warnings as errors (ON in the ci preset)" OFF)
option(SOCIALAI_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
# libFuzzer build (clang only; scripts/fuzz.sh): every target gets coverage instrumentation
# plus ASan/UBSan, and tests/fuzz links its targets with libFuzzer's main.
option(SOCIALAI_FUZZ "Build the libFuzzer targets of tests/fuzz (clang)" OFF)
if(SOCIALAI_FUZZ AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "SOCIALAI_FUZZ needs clang (e.g. CXX=clang++-14), not ${CMAKE_CXX_COMPILER_ID}")
endif()

function(socialai_target_defaults tgt)
  target_compile_features(${tgt} PUBLIC cxx_std_20)
  target_compile_options(${tgt} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Woverloaded-virtual $<$<BOOL:${SOCIALAI_WERROR}>:-Werror>)
  target_compile_definitions(${tgt} PUBLIC BOOST_PROCESS_V2_SEPARATE_COMPILATION
    BOOST_ASIO_NO_DEPRECATED)
  # Link only the shared libraries a binary really uses (the manager does not need libcurl's
  # ~25 dependencies): less to map at exec, less to copy at each fork, smaller PSS.
  target_link_options(${tgt} PUBLIC -Wl,--as-needed)
  if(SOCIALAI_SANITIZE)
    target_compile_options(${tgt} PUBLIC -fsanitize=address,undefined -fno-sanitize-recover=all
      -fno-omit-frame-pointer)
    target_link_options(${tgt} PUBLIC -fsanitize=address,undefined)
  endif()
  if(SOCIALAI_FUZZ)
    target_compile_options(${tgt} PUBLIC -fsanitize=fuzzer-no-link,address,undefined
      -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(${tgt} PUBLIC -fsanitize=address,undefined)
  endif()
endfunction()

# A shipped program (manager, workers, devnet): built into the build tree's root, because the
# manager looks a relative worker path up beside its own executable.
function(socialai_program target)
  socialai_target_defaults(${target})
  set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})
endfunction()
