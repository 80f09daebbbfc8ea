# Installs a built xentcheck into a fresh prefix, builds the consumer project against it with
# find_package(xentcheck) and runs it. Usage (see CMakeLists.txt): cmake -D... -P this file.
cmake_minimum_required(VERSION 3.25)

foreach(var XENTCHECK_BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR CXX_COMPILER GENERATOR)
  if(NOT ${var})
    message(FATAL_ERROR "run_consumer.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT CONFIG)
  set(CONFIG Release)
endif()

# Runs a command; on failure prints what it said and stops with `what` as the reason.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer test: ${what} failed (${rc})\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

# Fresh directories every run: nothing from an earlier install or build can be picked up.
set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

run("installing ${XENTCHECK_BUILD_DIR}"
  ${CMAKE_COMMAND} --install ${XENTCHECK_BUILD_DIR} --prefix ${prefix} --config ${CONFIG})

set(make_program)
if(MAKE_PROGRAM)
  set(make_program -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
# Only the fresh prefix may provide xentcheck: no package registries, no system paths.
run("configuring the consumer"
  ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${build} -G ${GENERATOR} ${make_program}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE=${CONFIG}
    -DCMAKE_PREFIX_PATH=${prefix} -DEXPECTED_PREFIX=${prefix}
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
    -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF)
run("building the consumer" ${CMAKE_COMMAND} --build ${build} --config ${CONFIG})
run("running the consumer" ${build}/bin/xentcheck_consumer)
message(STATUS "${last_output}")
