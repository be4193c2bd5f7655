// runtime.h: the greenscope runtime, gevent's model in C++. Include this one
// header to get greenlets, the hub, timeouts and every primitive.
#pragma once

#include "greenscope/config.h"
#include "greenscope/errors.h"
#include "greenscope/event.h"
#include "greenscope/greenlet.h"
#include "greenscope/hub.h"
#include "greenscope/io.h"
#include "greenscope/local.h"
#include "greenscope/lock.h"
#include "greenscope/observer.h"
#include "greenscope/patch.h"
#include "greenscope/pool.h"
#include "greenscope/queue.h"
#include "greenscope/server.h"
#include "greenscope/signal.h"
#include "greenscope/socket.h"
#include "greenscope/subprocess.h"
#include "greenscope/threadpool.h"
#include "greenscope/timeout.h"
#include "greenscope/types.h"
