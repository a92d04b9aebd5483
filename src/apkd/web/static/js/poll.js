// One poll loop for the exam-room pages: call `fn` every `ms` milliseconds, never two at once
// (a slow answer is not overtaken by the next tick), until stopped. `now()` runs it at once.

export class Poller {
  constructor(fn, ms) {
    this.fn = fn;
    this.ms = ms;
    this.timer = null;
    this.running = false;
  }

  get active() {
    return this.timer !== null;
  }

  start({immediately = false} = {}) {
    this.stop();
    this.timer = setInterval(() => this.now(), this.ms);
    if (immediately) this.now();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  async now() {
    if (this.running) return;
    this.running = true;
    try {
      await this.fn();
    } finally {
      this.running = false;
    }
  }
}
